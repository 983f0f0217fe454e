/** One line of `drc doctor`'s report (doctor.ts and its checks of schemas, doctor-schema.ts). */
export interface Check {
  /** Ezone name, or "kafka". */
  ezone: string;
  check: string;
  ok: boolean;
  message: string;
  /** A passing check that still deserves attention (e.g. no conflict protection). */
  warning?: boolean;
}
