/**
 * The pointer engine: RFC 6901 reads (the §5 examples verbatim), and the feed rules for writes
 * (append, index gaps, conflicts, forbidden tokens, no prototype ever touched).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../worker/errors';
import { formatPointer, parsePointer, PointerSyntaxError, PointerWriter, resolvePointer, writePointer } from '../../worker/feeds/pointer';

/** RFC 6901 §5. */
const RFC_DOCUMENT = JSON.parse(`{
      "foo": ["bar", "baz"],
      "": 0,
      "a/b": 1,
      "c%d": 2,
      "e^f": 3,
      "g|h": 4,
      "i\\\\j": 5,
      "k\\"l": 6,
      " ": 7,
      "m~n": 8
   }`) as Record<string, unknown>;

const RFC_EXAMPLES: [string, unknown][] = [
  ['', RFC_DOCUMENT],
  ['/foo', ['bar', 'baz']],
  ['/foo/0', 'bar'],
  ['/', 0],
  ['/a~1b', 1],
  ['/c%d', 2],
  ['/e^f', 3],
  ['/g|h', 4],
  ['/i\\j', 5],
  ['/k"l', 6],
  ['/ ', 7],
  ['/m~0n', 8],
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return undefined;
}

describe('reading with pointers', () => {
  it('reads every example of RFC 6901 §5', () => {
    expect(Object.keys(RFC_DOCUMENT)).toContain('i\\j');
    expect(Object.keys(RFC_DOCUMENT)).toContain('k"l');
    for (const [pointer, expected] of RFC_EXAMPLES) {
      const found = resolvePointer(RFC_DOCUMENT, pointer);
      expect(found, pointer).toEqual({ found: true, value: expected });
    }
  });

  it('unescapes ~1 before ~0, so ~01 is the key "~1" and not "/"', () => {
    expect(parsePointer('/~01')).toEqual(['~1']);
    expect(resolvePointer({ '~1': 'tilde-one', '/': 'slash' }, '/~01')).toEqual({ found: true, value: 'tilde-one' });
    expect(formatPointer(['~1', 'a/b'])).toBe('/~01/a~1b');
  });

  it('formats tokens back into the pointer they were parsed from', () => {
    for (const [pointer] of RFC_EXAMPLES) expect(formatPointer(parsePointer(pointer))).toBe(pointer);
  });

  it('refuses a pointer without its leading slash or with ~ followed by anything but 0 or 1', () => {
    expect(() => parsePointer('foo')).toThrow(PointerSyntaxError);
    expect(() => parsePointer('/a~2b')).toThrow(PointerSyntaxError);
    expect(() => parsePointer('/a~')).toThrow(PointerSyntaxError);
  });

  it('finds nothing past the end, at "-", at a leading-zero index or through a scalar', () => {
    const doc = { items: ['a', 'b'], n: 5 };
    expect(resolvePointer(doc, '/items/2')).toEqual({ found: false });
    expect(resolvePointer(doc, '/items/-')).toEqual({ found: false });
    expect(resolvePointer(doc, '/items/01')).toEqual({ found: false });
    expect(resolvePointer(doc, '/n/x')).toEqual({ found: false });
    expect(resolvePointer(doc, '/missing')).toEqual({ found: false });
  });

  it('never reads through a prototype', () => {
    expect(resolvePointer({}, '/constructor')).toEqual({ found: false });
    expect(resolvePointer({}, '/__proto__')).toEqual({ found: false });
    expect(resolvePointer({}, '/toString')).toEqual({ found: false });
    expect(resolvePointer([], '/length')).toEqual({ found: false });
    expect(resolvePointer('text', '/length')).toEqual({ found: false });
  });

  it('reads a null value as found', () => {
    expect(resolvePointer({ a: null }, '/a')).toEqual({ found: true, value: null });
  });
});

describe('writing with pointers', () => {
  it('creates missing parents: arrays before an index or "-", objects otherwise', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/email_address'), 'a@b.example');
    writer.write(parsePointer('/merge_fields/FNAME'), 'Ada');
    writer.write(parsePointer('/tags/-'), 'web-signup');
    writer.write(parsePointer('/items/0/sku'), 'X1');
    expect(JSON.parse(JSON.stringify(writer.value))).toEqual({
      email_address: 'a@b.example',
      merge_fields: { FNAME: 'Ada' },
      tags: ['web-signup'],
      items: [{ sku: 'X1' }],
    });
  });

  it('builds null-prototype objects', () => {
    const value = writePointer('/a/b', 1) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.getPrototypeOf(value.a)).toBeNull();
  });

  it('appends with "-" and with an index equal to the length', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/tags/-'), 'a');
    writer.write(parsePointer('/tags/1'), 'b');
    writer.write(parsePointer('/tags/-'), 'c');
    expect(JSON.parse(JSON.stringify(writer.value))).toEqual({ tags: ['a', 'b', 'c'] });
  });

  it('refuses an index past the end as mapping-index-gap', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/items/0'), 'a');
    expect(codeOf(() => writer.write(parsePointer('/items/2'), 'c'))).toBe('mapping-index-gap');
    expect(codeOf(() => writePointer('/1', 'x'))).toBe('mapping-index-gap');
  });

  it('fills an element it made when a later row writes inside it', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/items/0/sku'), 'X1');
    writer.write(parsePointer('/items/0/qty'), 2);
    expect(JSON.parse(JSON.stringify(writer.value))).toEqual({ items: [{ sku: 'X1', qty: 2 }] });
  });

  it('refuses to write the same target twice', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/email'), 'a');
    expect(codeOf(() => writer.write(parsePointer('/email'), 'b'))).toBe('mapping-conflict');
    writer.write(parsePointer('/list/0'), 'x');
    expect(codeOf(() => writer.write(parsePointer('/list/0'), 'y'))).toBe('mapping-conflict');
  });

  it('refuses to write under a scalar, or inside an object another row wrote as a value', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/name'), 'Ada');
    expect(codeOf(() => writer.write(parsePointer('/name/first'), 'A'))).toBe('mapping-conflict');
    const input = { city: 'Oslo' };
    writer.write(parsePointer('/address'), input);
    expect(codeOf(() => writer.write(parsePointer('/address/zip'), '0150'))).toBe('mapping-conflict');
    expect(input).toEqual({ city: 'Oslo' });
  });

  it('refuses a name on an array', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/tags/-'), 'a');
    expect(codeOf(() => writer.write(parsePointer('/tags/first'), 'b'))).toBe('mapping-conflict');
  });

  it('builds a top-level array when every target starts with an index or "-"', () => {
    const writer = new PointerWriter();
    writer.write(parsePointer('/-'), 'a');
    writer.write(parsePointer('/1/x'), 'b');
    expect(JSON.parse(JSON.stringify(writer.value))).toEqual(['a', { x: 'b' }]);
    expect(codeOf(() => writer.write(parsePointer('/name'), 'c'))).toBe('mapping-conflict');
  });

  it('writes the whole value for the empty pointer, once', () => {
    const writer = new PointerWriter();
    writer.write([], { all: true });
    expect(writer.value).toEqual({ all: true });
    expect(codeOf(() => writer.write([], 1))).toBe('mapping-conflict');
    expect(codeOf(() => writer.write(['all'], 1))).toBe('mapping-conflict');
  });

  it('refuses __proto__, constructor and prototype anywhere, and never pollutes Object.prototype', () => {
    for (const pointer of ['/__proto__/polluted', '/a/__proto__/polluted', '/constructor/prototype/polluted', '/prototype', '/x/0/constructor']) {
      expect(codeOf(() => writePointer(pointer, 'yes')), pointer).toBe('unsafe-target');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
