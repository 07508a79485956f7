/**
 * Evaluation helpers for the template miner: Grouping Accuracy as the log-parsing literature
 * computes it (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019), and
 * a small RFC 4180 CSV reader for the Loghub ground-truth files.
 */

/**
 * Grouping Accuracy: a message is parsed correctly iff the set of messages sharing its predicted
 * group equals the set sharing its ground-truth group. Rows whose truth label is empty are dropped
 * first. Returns the share of correctly parsed messages (0 when no row is labelled).
 */
export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) {
    throw new RangeError(`predicted has ${predicted.length} labels, truth has ${truth.length}`);
  }
  const byTruth = new Map<string, number[]>();
  const predictedSize = new Map<string, number>();
  let labelled = 0;
  for (let i = 0; i < truth.length; i++) {
    const label = truth[i] ?? '';
    if (label === '') continue;
    labelled++;
    const rows = byTruth.get(label);
    if (rows === undefined) byTruth.set(label, [i]);
    else rows.push(i);
    const group = predicted[i] ?? '';
    predictedSize.set(group, (predictedSize.get(group) ?? 0) + 1);
  }
  if (labelled === 0) return 0;
  let correct = 0;
  for (const rows of byTruth.values()) {
    const groups = new Set(rows.map((i) => predicted[i] ?? ''));
    if (groups.size !== 1) continue;
    const [group] = groups;
    if (group !== undefined && predictedSize.get(group) === rows.length) correct += rows.length;
  }
  return correct / labelled;
}

/** Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** CSV rows as records keyed by the header row. */
export function parseCsvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (header === undefined) return [];
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ''])));
}
