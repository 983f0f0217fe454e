import { describe, expect, it } from 'vitest';
import { foldKeyText } from './key-fold.js';

describe('key folding for write sets', () => {
  it('merges what case-, accent-insensitive and PAD SPACE collations hold equal', () => {
    const same = [
      ['alice', 'Alice', 'ALICE'],
      ['e', 'é', 'É', 'e\u0301', 'ê'],
      ['x', 'x ', 'x   '],
      ['strasse', 'straße', 'STRASSE', 'strase'],
      ['aeon', 'æon', 'Æon'],
      ['ﬁne', 'fine'],
      ['ab', 'a\u00adb'],
    ];
    for (const group of same) expect(new Set(group.map(foldKeyText)).size, group.join('|')).toBe(1);
  });
  it('keeps apart what no collation merges', () => {
    expect(foldKeyText('alice')).not.toBe(foldKeyText('alicf'));
    expect(foldKeyText(' x')).not.toBe(foldKeyText('x'));
    expect(foldKeyText('1')).not.toBe(foldKeyText('2'));
  });
});
