import { groupingAccuracy, parseCsv, parseCsvRecords } from '../../../../../src/agents/log/mining/evaluation.js';

describe('groupingAccuracy', () => {
  it('when the predicted groups equal the truth (whatever their names), then GA is 1', () => {
    expect(groupingAccuracy(['x', 'x', 'y'], ['E1', 'E1', 'E2'])).toBe(1);
  });

  it('when two true events are merged, then both are wrong', () => {
    // E1 (2 lines) and E2 (1 line) share one group; E3 is right.
    expect(groupingAccuracy(['a', 'a', 'a', 'b'], ['E1', 'E1', 'E2', 'E3'])).toBe(0.25);
  });

  it('when one true event is split, then all its lines are wrong', () => {
    expect(groupingAccuracy(['a', 'b', 'c', 'c'], ['E1', 'E1', 'E2', 'E2'])).toBe(0.5);
  });

  it('when a truth label is empty, then that row is dropped', () => {
    expect(groupingAccuracy(['a', 'a', 'b'], ['E1', 'E1', ''])).toBe(1);
  });

  it('when the lengths differ, then it throws', () => {
    expect(() => groupingAccuracy(['a'], ['E1', 'E2'])).toThrow(RangeError);
  });
});

describe('parseCsv', () => {
  it('when fields are quoted with commas, quotes and newlines, then they are read whole', () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\n2,"two\nlines",\n';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'two\nlines', ''],
    ]);
  });

  it('when records are asked for, then rows are keyed by the header', () => {
    expect(parseCsvRecords('LineId,EventId\n1,E1\n2,E2')).toEqual([
      { LineId: '1', EventId: 'E1' },
      { LineId: '2', EventId: 'E2' },
    ]);
  });
});
