/**
 * An online, streaming log template miner of the Drain family (He et al., "Drain: An Online Log
 * Parsing Approach with Fixed Depth Tree", ICWS 2017), written for this project.
 *
 * Each line: strip the header, mask the variables, split on white space, then walk a fixed-depth
 * tree (token count, then the first `depth` tokens; tokens carrying digits or masks share the
 * `<*>` child) to a leaf holding a few clusters. The line joins the most similar cluster when
 * enough of its tokens match, and the differing positions of that cluster's template become
 * `<*>`; otherwise it founds a new cluster.
 *
 * Departures from vanilla Drain, each because it fixed a measured grouping error on Loghub:
 * - masking does most of the work (see masking.ts), and runs of masks collapse into one so that
 *   variable-length values (`0 bytes` / `18846 bytes (18.4 KB)`, lists of block ids) agree;
 * - similarity counts a `<*>` that lines differed at (a generalized position) as a match, so a
 *   cluster that has generalized keeps attracting its lines; a `<*>` that masking put in the
 *   founding line is a typed slot (number, address…), and a plain word there is a difference
 *   (`renew session <*> at` vs `establish new session at`);
 * - some differences forbid a merge whatever the similarity: two different all-capitals words
 *   (states or event kinds: `from NEW to UNASSIGNED` vs `from RUNNING to FAILED`), tokens of
 *   different shapes (`(uid=<*>)` vs `LOGIN(uid=<*>)`), and a run of more than
 *   `maxDifferenceRun` adjacent differing tokens (a different phrase, not a variable);
 * - the scan of a cluster stops as soon as too many positions differ (speed);
 * - clusters of one leaf whose templates become identical are merged; the older id survives and
 *   the younger becomes an alias (`resolve`).
 * Not done: a final re-pass re-assigning lines to the merged templates. It would need the lines
 * again (standard input cannot be re-read, and lines are never stored); the Loghub figures are
 * those of the ids printed online, without `resolve`.
 *
 * Online and bounded: every line gets its id when it is read; ids never change meaning (an id
 * names a cluster, whose template may still generalize later). Lines are never stored. Clusters
 * are capped (least recently used evicted), and so are leaves, tokens per message, message
 * length and the alias table, so memory is bounded whatever the size of the log.
 */
import { createHash } from 'node:crypto';

import { stripHeader } from './header.js';
import { MASK, maskVariables } from './masking.js';
import { MinerOptions } from './schema.js';
import type { AddResult, MinerOptionsInput, MinerStats, Template } from './schema.js';

interface TreeNode {
  readonly key: string;
  readonly parent: TreeNode | undefined;
  readonly children: Map<string, TreeNode>;
  /** Set on leaves only. */
  clusters: Cluster[] | undefined;
}

interface Cluster {
  readonly id: string;
  tokens: string[];
  /**
   * Positions that became `<*>` because lines differed there. A `<*>` that masking put in the
   * founding line is a typed slot (a number, an address…): a plain word there is a difference.
   */
  generalized: boolean[];
  template: string;
  count: number;
  firstSeenIndex: number;
  lastSeenIndex: number;
  readonly leaf: TreeNode;
}

/** States and event kinds: `RUNNING`, `FAIL_TASK_CLEANUP`, `SCREEN_ON` (not `A`, not `x86`). */
const ENUM_WORD = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*[A-Z0-9][.,;:]?$/;
const DIGIT = /\d/;

function treeKey(token: string): string {
  return DIGIT.test(token) || token.includes(MASK) ? MASK : token;
}

function isEnumWord(token: string): boolean {
  return token.length >= 3 && ENUM_WORD.test(token) && /[A-Z].*[A-Z]/.test(token);
}

/**
 * Whether two differing tokens may be one variable slot. A partly masked token (`rhost=<*>`,
 * `(<*>)`) is a shape: a plain token fits it when it has the shape's constant parts around the
 * masks (`rhost=`, `(foo)`); two partly masked tokens fit when their constant parts are equal.
 */
function shapesCompatible(a: string, b: string): boolean {
  if (a === MASK || b === MASK) return true;
  const aMasked = a.includes(MASK);
  const bMasked = b.includes(MASK);
  if (!aMasked && !bMasked) return true;
  if (aMasked && bMasked) return a.split(MASK).join('') === b.split(MASK).join('');
  return aMasked ? fitsShape(a, b) : fitsShape(b, a);
}

/** Whether `token` is `shape` with each mask replaced by some (possibly empty) text. */
function fitsShape(shape: string, token: string): boolean {
  const parts = shape.split(MASK);
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!token.startsWith(first) || token.length < first.length + last.length || !token.endsWith(last)) {
    return false;
  }
  let at = first.length;
  const end = token.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? '';
    const found = token.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

export class TemplateMiner {
  readonly options: MinerOptions;
  /** Token count → first tree level. */
  private readonly roots = new Map<number, TreeNode>();
  /** Live clusters in least-recently-used-first order (a Map keeps insertion order). */
  private readonly clusters = new Map<string, Cluster>();
  /** Ids of merged-away clusters → the id that absorbed them. Bounded like the clusters. */
  private readonly aliases = new Map<string, string>();
  private lineCount = 0;
  private created = 0;
  private merged = 0;
  private evicted = 0;

  constructor(options: MinerOptionsInput = {}) {
    this.options = MinerOptions.parse(options);
  }

  /** Mines one line (online): the id and current template of the cluster it joined or founded. */
  add(line: string): AddResult {
    const index = this.lineCount++;
    const tokens = this.tokenize(line);
    const leaf = this.leafFor(tokens);
    const best = this.bestMatch(leaf, tokens);
    if (best !== undefined) {
      const survivor = this.absorb(best, tokens, index);
      return { templateId: survivor.id, template: survivor.template, isNew: false };
    }
    const cluster = this.createCluster(leaf, tokens, index);
    return { templateId: cluster.id, template: cluster.template, isNew: true };
  }

  /** The live templates, oldest first. */
  templates(): Template[] {
    return [...this.clusters.values()]
      .sort((a, b) => a.firstSeenIndex - b.firstSeenIndex)
      .map((c) => ({
        id: c.id,
        template: c.template,
        count: c.count,
        firstSeenIndex: c.firstSeenIndex,
        lastSeenIndex: c.lastSeenIndex,
      }));
  }

  /** The id that now stands for `id` (itself unless its cluster was merged into another). */
  resolve(id: string): string {
    let current = id;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.aliases.get(current);
      if (next === undefined) return current;
      current = next;
    }
    return current;
  }

  stats(): MinerStats {
    return {
      lines: this.lineCount,
      clusters: this.clusters.size,
      created: this.created,
      merged: this.merged,
      evicted: this.evicted,
    };
  }

  /** Header stripping, masking and tokenization: the message as the tree sees it. */
  tokenize(line: string): string[] {
    let message = this.options.stripHeaders ? stripHeader(line) : line.trim();
    if (message.length > this.options.maxMessageLength) {
      message = message.slice(0, this.options.maxMessageLength);
    }
    const masked = maskVariables(message);
    if (masked === '') return [];
    const tokens = masked.split(' ');
    const max = this.options.maxTokens;
    if (tokens.length <= max) return tokens;
    const kept = tokens.slice(0, max - 1);
    if (kept[kept.length - 1] !== MASK) kept.push(MASK);
    return kept;
  }

  /** Finds (creating as needed) the leaf for a token sequence. */
  private leafFor(tokens: readonly string[]): TreeNode {
    let node: TreeNode | undefined = this.roots.get(tokens.length);
    if (node === undefined) {
      node = { key: String(tokens.length), parent: undefined, children: new Map(), clusters: undefined };
      this.roots.set(tokens.length, node);
    }
    const depth = Math.min(this.options.depth, tokens.length);
    for (let i = 0; i < depth; i++) {
      const token = tokens[i] ?? MASK;
      let key = treeKey(token);
      let child: TreeNode | undefined = node.children.get(key);
      if (child === undefined && key !== MASK && node.children.size >= this.options.maxChildren) {
        key = MASK;
        child = node.children.get(MASK);
      }
      if (child === undefined) {
        child = { key, parent: node, children: new Map(), clusters: undefined };
        node.children.set(key, child);
      }
      node = child;
    }
    node.clusters ??= [];
    return node;
  }

  /** The most similar cluster of the leaf that the line may join, if any. */
  private bestMatch(leaf: TreeNode, tokens: readonly string[]): Cluster | undefined {
    const clusters = leaf.clusters ?? [];
    const n = tokens.length;
    let best: Cluster | undefined;
    let bestScore = -1;
    for (const cluster of clusters) {
      const score = this.similarity(cluster, tokens);
      if (score > bestScore || (score === bestScore && best !== undefined && cluster.count > best.count)) {
        best = cluster;
        bestScore = score;
      }
    }
    if (best === undefined) return undefined;
    if (n === 0) return best;
    return bestScore >= this.options.similarity ? best : undefined;
  }

  /**
   * Share of positions where the template matches the line; −1 when they must not merge (or
   * cannot reach the threshold: the scan stops as soon as too many positions differ).
   */
  private similarity(cluster: Cluster, tokens: readonly string[]): number {
    const n = tokens.length;
    if (n === 0) return 1;
    const template = cluster.tokens;
    const allowed = Math.floor((1 - this.options.similarity) * n + 1e-9);
    let differences = 0;
    let run = 0;
    for (let i = 0; i < n; i++) {
      const t = template[i] ?? MASK;
      const l = tokens[i] ?? MASK;
      if (t === l || (t === MASK && (l === MASK || cluster.generalized[i] === true))) {
        run = 0;
        continue;
      }
      differences++;
      run++;
      if (differences > allowed || run > this.options.maxDifferenceRun) return -1;
      // Two different states or event kinds (`RUNNING` vs `FAILED`), or tokens of different
      // shapes (`(uid=<*>)` vs `LOGIN(uid=<*>)`, `tty=:<*>` vs `tty=NODEVssh`): different events.
      // A run of differing words is a different phrase, not a variable.
      if (isEnumWord(t) && isEnumWord(l)) return -1;
      if (!shapesCompatible(t, l)) return -1;
    }
    return 1 - differences / n;
  }

  private absorb(cluster: Cluster, tokens: readonly string[], index: number): Cluster {
    cluster.count++;
    cluster.lastSeenIndex = index;
    this.touch(cluster);
    let changed = false;
    for (let i = 0; i < tokens.length; i++) {
      if (cluster.tokens[i] === tokens[i]) continue;
      if (cluster.tokens[i] !== MASK) {
        cluster.tokens[i] = MASK;
        changed = true;
      }
      cluster.generalized[i] = true;
    }
    if (!changed) return cluster;
    cluster.template = cluster.tokens.join(' ');
    return this.mergeTwins(cluster);
  }

  /** Merges the clusters of the leaf whose template became identical to this one's. */
  private mergeTwins(cluster: Cluster): Cluster {
    const siblings = cluster.leaf.clusters ?? [];
    const twins = siblings.filter((c) => c !== cluster && c.template === cluster.template);
    if (twins.length === 0) return cluster;
    const group = [cluster, ...twins];
    const survivor = group.reduce((a, b) => (b.firstSeenIndex < a.firstSeenIndex ? b : a));
    for (const other of group) {
      if (other === survivor) continue;
      survivor.count += other.count;
      survivor.lastSeenIndex = Math.max(survivor.lastSeenIndex, other.lastSeenIndex);
      this.removeCluster(other);
      this.setAlias(other.id, survivor.id);
      this.merged++;
    }
    this.touch(survivor);
    return survivor;
  }

  private createCluster(leaf: TreeNode, tokens: readonly string[], index: number): Cluster {
    const template = tokens.join(' ');
    const cluster: Cluster = {
      id: this.newId(template),
      tokens: [...tokens],
      generalized: tokens.map(() => false),
      template,
      count: 1,
      firstSeenIndex: index,
      lastSeenIndex: index,
      leaf,
    };
    const siblings = leaf.clusters ?? [];
    if (siblings.length >= this.options.maxClustersPerLeaf) {
      const stalest = siblings.reduce((a, b) => (b.lastSeenIndex < a.lastSeenIndex ? b : a));
      this.removeCluster(stalest);
      this.evicted++;
    }
    (leaf.clusters ??= []).push(cluster);
    this.clusters.set(cluster.id, cluster);
    this.created++;
    while (this.clusters.size > this.options.maxClusters) {
      const oldest = this.clusters.values().next().value;
      if (oldest === undefined) break;
      this.removeCluster(oldest);
      this.evicted++;
    }
    return cluster;
  }

  /**
   * A content-derived id (`t` + 12 hex digits of the SHA-1 of the founding template), so the same
   * message shape gets the same id across runs and hosts; a suffix keeps ids unique.
   */
  private newId(template: string): string {
    const base = `t${createHash('sha1').update(template).digest('hex').slice(0, 12)}`;
    let id = base;
    for (let n = 2; this.clusters.has(id) || this.aliases.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  private touch(cluster: Cluster): void {
    this.clusters.delete(cluster.id);
    this.clusters.set(cluster.id, cluster);
  }

  private setAlias(from: string, to: string): void {
    this.aliases.set(from, to);
    while (this.aliases.size > this.options.maxClusters) {
      const oldest = this.aliases.keys().next().value;
      if (oldest === undefined) break;
      this.aliases.delete(oldest);
    }
  }

  /** Unlinks a cluster from the LRU list and its leaf, pruning tree nodes left empty. */
  private removeCluster(cluster: Cluster): void {
    this.clusters.delete(cluster.id);
    const leaf = cluster.leaf;
    const siblings = leaf.clusters;
    if (siblings !== undefined) {
      const at = siblings.indexOf(cluster);
      if (at >= 0) siblings.splice(at, 1);
    }
    let node: TreeNode | undefined = leaf;
    while (node !== undefined && node.children.size === 0 && (node.clusters?.length ?? 0) === 0) {
      const parent: TreeNode | undefined = node.parent;
      if (parent === undefined) {
        if (this.roots.get(tokensLengthOf(node)) === node) this.roots.delete(tokensLengthOf(node));
        break;
      }
      parent.children.delete(node.key);
      node = parent;
    }
  }
}

function tokensLengthOf(root: TreeNode): number {
  return Number(root.key);
}
