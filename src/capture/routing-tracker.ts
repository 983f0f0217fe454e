/**
 * The routing capture judges local writes by (issue 17), kept in binlog order: the rows of
 * drc_meta.routing it meets change it, the end of each transaction takes its text along
 * (CapturedPart.end.routing, shipped with the resume point: shipper.ts ROUTING_HEADER), and a restart
 * puts back the routing of its resume point — not the routing in force now.
 */
import { packRoutes, routeOfRow, unpackRoutes, type RoutingBook } from '../model/routing.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';

export class RoutingTracker {
  /** The book as text (packRoutes), until the next routing row. */
  private text: string | undefined;

  constructor(
    /** The routing in force (drc_meta.routing as read at start); none: the config's rules judge. */
    private readonly book: RoutingBook | undefined,
    /** The topology whose rows count (a server may hold several: drc_meta.routing's topology). */
    private readonly topology: string,
    private readonly log: Logger,
  ) {}

  /** A row written to drc_meta.routing (local or applied), in binlog order: in force from here on. */
  onRow(after: Row): void {
    if (!this.book || after.topology !== this.topology) return;
    const route = routeOfRow(after);
    if (!route) return;
    this.book.set(route);
    this.text = undefined;
  }

  /** The routing in force now, as text; undefined without a book. */
  current(): string | undefined {
    if (!this.book) return undefined;
    return (this.text ??= packRoutes(this.book.routes()));
  }

  /**
   * The routing in force at the resume point, shipped with it: the binlog read again from there is
   * judged by it, and by the routing rows it meets, in order. Without one (messages of builds before
   * it, a routing too fragmented to ship) the routing in hand stays.
   */
  resume(text: string | undefined, position: string): void {
    if (!this.book) return;
    if (text === undefined) {
      this.log.warn({ position, routingVersion: this.book.version }, 'the resume point carries no routing (a build before it, or a routing too fragmented to ship): rows read again are judged by the routing read at start');
      return;
    }
    const routes = unpackRoutes(text);
    if (!routes) {
      this.log.warn({ position }, 'the routing shipped with the resume point does not decode: judging by the routing read at start');
      return;
    }
    this.book.replace(routes);
    this.text = undefined;
    this.log.info({ position, routingVersion: this.book.version }, 'capture resumes with the routing in force at its resume point');
  }
}
