/**
 * A streaming log template miner: a fixed-depth parse tree of the Drain family (He et al.,
 * "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017) for the first
 * grouping, and token-position statistics in the spirit of Brain (Yu et al., "Brain: Log Parsing
 * with Bidirectional Parallel Tree", 2023) to settle, over a window of lines, which differing
 * words are constants and which are variables. Written for this project.
 *
 * Each line: strip the header (header.ts), mask the values recognised by their shape
 * (masking.ts), then:
 * 1. **Same masked message, same template.** A message identical, after masking, to one already
 *    seen joins the template that one joined (a bounded cache); nothing else is computed for it.
 * 2. **Tree and similarity** (Drain). Walk the tree (token count, then the first `depth` tokens;
 *    tokens holding a mask share the `<*>` child) to a leaf holding a few templates. The message
 *    joins the most similar template when at least `similarity` of its positions match, and the
 *    positions that differ become `<*>`; otherwise it founds a new template. Departures from
 *    vanilla Drain, each for a grouping error it fixed:
 *    - a `<*>` that lines differed at matches anything; a `<*>` that masking put in the founding
 *      line is a typed slot, and a plain word there is a difference (`renew session <*> at` vs
 *      `establish new session at`);
 *    - some differences forbid a merge whatever the similarity: two different all-capitals words
 *      (states, event kinds: `from NEW to UNASSIGNED` vs `from RUNNING to FAILED`), tokens of
 *      different shapes (`(uid=<*>)` vs `LOGIN(uid=<*>)`), and a run of more than
 *      `maxDifferenceRun` adjacent differing tokens (a different phrase, not a variable);
 *    - templates of one leaf that become identical merge (the older id survives, the younger
 *      becomes an alias, see `resolve`).
 * 3. **Constant or variable: the rule** (window only, `addBatch`). Over the lines of one window:
 *    - a position where the window's lines of a template differ, but only ever with fewer than
 *      `variableValues` distinct words, each on two lines at least, is a **constant**: the words
 *      name different events (`failure;` ×2 / `failures;` ×6), so the template splits by them. A
 *      word seen once, or only in an earlier window, is no evidence: the similarity decides;
 *    - templates of one leaf that are identical but for the same positions, each with its own
 *      word there, at least `variableValues` of them and each word seen about once, differ only
 *      in **variables** (`Registering class <*> for class <*>`): they merge.
 *    A word that took `variableValues` or more distinct values at a position, or that masking
 *    typed, is a variable. Masked values are never constants.
 *
 * `add(line)` is online: the line gets its id at once, from steps 1 and 2 only. `addBatch(lines)`
 * assigns a window of lines together, with step 3; the `templates` CLI reads its input in
 * windows. Ids never change meaning: an id names a template, whose text may still generalize
 * later. Lines are never stored beyond a window. Templates are capped (least recently used
 * evicted), and so are leaves, tokens per message, message length, the message cache and the
 * alias table, so memory is bounded whatever the size of the log.
 */
import { createHash } from 'node:crypto';

import { stripHeader } from './header.js';
import { MASK, maskKeyHash, maskKeyHashHigh, maskMessage } from './masking.js';
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
  /** False once merged into another template or evicted. */
  alive: boolean;
  /** Line index when the cluster last moved to the young end of the LRU order. */
  touchedAt: number;
  /** What `add` returns for this cluster (replaced when the template changes). */
  result: AddResult;
}

/** A distinct masked message of one window, with the lines that printed it. */
interface WindowMessage {
  readonly masked: string;
  readonly tokens: string[];
  count: number;
  readonly firstIndex: number;
  lastIndex: number;
  cluster: Cluster;
}

/** A template touched by a window: its state before the window and the window's messages. */
interface Touched {
  cluster: Cluster;
  /** Undefined when the window created it. */
  before: { tokens: string[]; generalized: boolean[]; count: number; firstSeenIndex: number } | undefined;
  messages: WindowMessage[];
  /** The window's messages that joined it from the message cache (messages it held before). */
  repeats: WindowMessage[];
}

/** The cache of masked messages is cleared when it reaches this size (memory bound). */
const MESSAGE_CACHE_LIMIT = 50_000;
/** A cluster moves in the LRU order at most once per this many lines (the order stays close to LRU, cheaply). */
const TOUCH_INTERVAL = 512;

/** States and event kinds: `RUNNING`, `FAIL_TASK_CLEANUP`, `SCREEN_ON` (not `A`, not `x86`). */
const ENUM_WORD = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*[A-Z0-9][.,;:]?$/;

function treeKey(token: string): string {
  return token.includes(MASK) ? MASK : token;
}

function isEnumWord(token: string): boolean {
  return token.length >= 3 && ENUM_WORD.test(token) && /[A-Z].*[A-Z]/.test(token);
}

/** A word value: not a mask and not a state word (those never merge anyway). */
function isWordValue(token: string): boolean {
  return token !== MASK && !isEnumWord(token);
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
  /** Live clusters, roughly least recently used first (a Map keeps insertion order). */
  private readonly clusters = new Map<string, Cluster>();
  /** Ids of merged-away clusters → the id that absorbed them. Bounded like the clusters. */
  private readonly aliases = new Map<string, string>();
  /** Masked message → the cluster it joined. */
  private readonly messageCache = new Map<string, Cluster>();
  /**
   * Messages that mask alike share a mask key (masking.ts): the key's 64-bit fingerprint → the
   * masked message. Masking is most of the work; most lines repeat a key.
   */
  private readonly maskCache = new Map<number, { low: number; high: number; masked: string }[]>();
  private maskCacheSize = 0;
  /** The window being assigned by `addBatch`, if any. */
  private window: Map<Cluster, Touched> | undefined;
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
    const masked = this.maskLine(line);
    const cached = this.cached(masked);
    if (cached !== undefined) {
      this.seen(cached, 1, index);
      return cached.result;
    }
    const tokens = splitMasked(masked);
    const { cluster, isNew } = this.assign(tokens, 1, index);
    this.remember(masked, cluster);
    return isNew ? { templateId: cluster.id, template: cluster.template, isNew: true } : cluster.result;
  }

  /**
   * Mines a window of lines together: like `add` on each line in order, then the constant and
   * variable rules over the window. Returns one result per line, in order.
   */
  addBatch(lines: readonly string[]): AddResult[] {
    const base = this.lineCount;
    this.lineCount += lines.length;
    const byMasked = new Map<string, WindowMessage>();
    const messages: WindowMessage[] = [];
    const lineMessages: WindowMessage[] = new Array<WindowMessage>(lines.length);
    const touched = new Map<Cluster, Touched>();
    this.window = touched;
    try {
      for (let i = 0; i < lines.length; i++) {
        const index = base + i;
        const masked = this.maskLine(lines[i] ?? '');
        let message = byMasked.get(masked);
        if (message === undefined) {
          const cached = this.cached(masked);
          const tokens = cached === undefined ? splitMasked(masked) : [];
          const cluster = cached ?? this.assign(tokens, 0, index).cluster;
          message = { masked, tokens, count: 0, firstIndex: index, lastIndex: index, cluster };
          byMasked.set(masked, message);
          if (cached === undefined) {
            messages.push(message);
            this.touchedEntry(cluster).messages.push(message);
          } else this.touchedEntry(cluster).repeats.push(message);
        }
        message.count++;
        message.lastIndex = index;
        lineMessages[i] = message;
      }
      this.splitConstants(touched);
      this.mergeVariables(touched);
      // Counts and recency of every message (cached ones included), in the template that holds
      // it after the corrections.
      for (const message of byMasked.values()) {
        message.cluster = this.live(message.cluster);
        this.seen(message.cluster, message.count, message.lastIndex);
      }
    } finally {
      this.window = undefined;
    }
    for (const message of messages) this.remember(message.masked, message.cluster);
    const results: AddResult[] = new Array<AddResult>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const message = lineMessages[i] as WindowMessage;
      const cluster = message.cluster;
      const isNew = touched.get(cluster)?.before === undefined && touched.has(cluster) && cluster.firstSeenIndex === base + i;
      results[i] = isNew ? { templateId: cluster.id, template: cluster.template, isNew: true } : cluster.result;
    }
    return results;
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
    return splitMasked(this.maskLine(line));
  }

  /** The masked message of a line, capped in length and in tokens. */
  private maskLine(line: string): string {
    const message = this.options.stripHeaders ? stripHeader(line) : line;
    let masked: string;
    if (message.length > this.options.maxMessageLength) {
      masked = maskMessage(message.slice(0, this.options.maxMessageLength));
    } else {
      const low = maskKeyHash(message);
      const high = maskKeyHashHigh();
      // 30 bits of the fingerprint as the map key: a small integer, which V8 hashes fastest.
      const slot = low & 0x3fffffff;
      const bucket = this.maskCache.get(slot);
      let known: string | undefined;
      if (bucket !== undefined) {
        for (const entry of bucket) {
          if (entry.low === low && entry.high === high) {
            known = entry.masked;
            break;
          }
        }
      }
      if (known === undefined) {
        masked = maskMessage(message);
        if (this.maskCacheSize >= MESSAGE_CACHE_LIMIT) {
          this.maskCache.clear();
          this.maskCacheSize = 0;
        }
        if (bucket === undefined) this.maskCache.set(slot, [{ low, high, masked }]);
        else bucket.push({ low, high, masked });
        this.maskCacheSize++;
      } else masked = known;
    }
    const max = this.options.maxTokens;
    // Token count is at most (spaces + 1): count only when the message could be too long.
    if (masked.length < 2 * max) return masked;
    let spaces = 0;
    let cut = -1;
    for (let i = 0; i < masked.length; i++) {
      if (masked.charCodeAt(i) !== 32) continue;
      spaces++;
      if (spaces === max - 1) cut = i;
    }
    if (spaces < max) return masked;
    const kept = masked.slice(0, cut);
    return kept.endsWith(` ${MASK}`) || kept === MASK ? kept : `${kept} ${MASK}`;
  }

  /** The live cluster that stands for `cluster` now (itself unless merged; evicted ones stay). */
  private live(cluster: Cluster): Cluster {
    if (cluster.alive) return cluster;
    return this.clusters.get(this.resolve(cluster.id)) ?? cluster;
  }

  private cached(masked: string): Cluster | undefined {
    const cluster = this.messageCache.get(masked);
    return cluster !== undefined && cluster.alive ? cluster : undefined;
  }

  private remember(masked: string, cluster: Cluster): void {
    if (this.messageCache.size >= MESSAGE_CACHE_LIMIT) this.messageCache.clear();
    this.messageCache.set(masked, cluster);
  }

  /** Counts `lines` more lines of `cluster`, the last at `index`. */
  private seen(cluster: Cluster, lines: number, index: number): void {
    cluster.count += lines;
    if (index > cluster.lastSeenIndex) cluster.lastSeenIndex = index;
    if (index - cluster.touchedAt >= TOUCH_INTERVAL && cluster.alive) {
      cluster.touchedAt = index;
      this.clusters.delete(cluster.id);
      this.clusters.set(cluster.id, cluster);
    }
  }

  /** Tree walk and similarity: the cluster the message joins (counting `lines` lines) or founds. */
  private assign(tokens: string[], lines: number, index: number): { cluster: Cluster; isNew: boolean } {
    const leaf = this.leafFor(tokens);
    const best = this.bestMatch(leaf, tokens);
    if (best === undefined) return { cluster: this.createCluster(leaf, tokens, lines, index), isNew: true };
    if (this.window !== undefined) this.touchedEntry(best);
    if (lines > 0) this.seen(best, lines, index);
    return { cluster: this.absorb(best, tokens), isNew: false };
  }

  /** The window's record of a cluster (created on first touch, with the state before the window). */
  private touchedEntry(cluster: Cluster): Touched {
    const window = this.window;
    if (window === undefined) throw new Error('touchedEntry outside a window');
    let entry = window.get(cluster);
    if (entry === undefined) {
      entry = {
        cluster,
        before: {
          tokens: [...cluster.tokens],
          generalized: [...cluster.generalized],
          count: cluster.count,
          firstSeenIndex: cluster.firstSeenIndex,
        },
        messages: [],
        repeats: [],
      };
      window.set(cluster, entry);
    }
    return entry;
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
      let key = treeKey(tokens[i] ?? MASK);
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
    if (tokens.length === 0) return best;
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
      if (isEnumWord(t) && isEnumWord(l)) return -1;
      if (!shapesCompatible(t, l)) return -1;
    }
    return 1 - differences / n;
  }

  /** Generalizes the cluster's template to cover `tokens`; returns the cluster that now holds them. */
  private absorb(cluster: Cluster, tokens: readonly string[]): Cluster {
    if (!generalize(cluster.tokens, cluster.generalized, tokens)) return cluster;
    this.setTemplate(cluster);
    return this.mergeTwins(cluster);
  }

  private setTemplate(cluster: Cluster): void {
    cluster.template = cluster.tokens.join(' ');
    cluster.result = { templateId: cluster.id, template: cluster.template, isNew: false };
  }

  /** Merges the clusters of the leaf whose template became identical to this one's. */
  private mergeTwins(cluster: Cluster): Cluster {
    const siblings = cluster.leaf.clusters ?? [];
    const twins = siblings.filter((c) => c !== cluster && c.template === cluster.template);
    if (twins.length === 0) return cluster;
    return this.mergeInto([cluster, ...twins]);
  }

  /** Merges a group of clusters into its oldest member; returns that member. */
  private mergeInto(group: readonly Cluster[]): Cluster {
    const survivor = group.reduce((a, b) => (b.firstSeenIndex < a.firstSeenIndex ? b : a));
    const window = this.window;
    for (const other of group) {
      if (other === survivor) continue;
      survivor.count += other.count;
      survivor.lastSeenIndex = Math.max(survivor.lastSeenIndex, other.lastSeenIndex);
      generalize(survivor.tokens, survivor.generalized, other.tokens);
      if (window !== undefined) {
        const entry = this.touchedEntry(survivor);
        const moved = window.get(other);
        if (moved !== undefined) {
          for (const message of moved.messages) {
            message.cluster = survivor;
            entry.messages.push(message);
          }
          entry.repeats.push(...moved.repeats);
          moved.messages = [];
          moved.repeats = [];
        }
        // What the merged template covered before the window, the survivor covers too (a
        // template created in this window has no such past: its messages moved above).
        const history = moved === undefined ? other.tokens : moved.before?.tokens;
        if (entry.before !== undefined && history !== undefined) generalize(entry.before.tokens, entry.before.generalized, history);
      }
      this.removeCluster(other);
      this.setAlias(other.id, survivor.id);
      this.merged++;
    }
    this.setTemplate(survivor);
    return survivor;
  }

  private createCluster(leaf: TreeNode, tokens: readonly string[], lines: number, index: number): Cluster {
    const template = tokens.join(' ');
    const id = this.newId(template);
    const cluster: Cluster = {
      id,
      tokens: [...tokens],
      generalized: tokens.map(() => false),
      template,
      count: lines,
      firstSeenIndex: index,
      lastSeenIndex: index,
      leaf,
      alive: true,
      touchedAt: index,
      result: { templateId: id, template, isNew: false },
    };
    const siblings = leaf.clusters ?? [];
    if (siblings.length >= this.options.maxClustersPerLeaf) {
      const stalest = siblings.reduce((a, b) => (b.lastSeenIndex < a.lastSeenIndex ? b : a));
      this.removeCluster(stalest);
      this.evicted++;
    }
    (leaf.clusters ??= []).push(cluster);
    this.clusters.set(cluster.id, cluster);
    this.window?.set(cluster, { cluster, before: undefined, messages: [], repeats: [] });
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
   * The constant rule: a position where the window's lines of a template differ with fewer than
   * `variableValues` distinct words (counting the word it held before the window) is a constant;
   * the template splits by the words there.
   */
  private splitConstants(touched: Map<Cluster, Touched>): void {
    for (const entry of [...touched.values()]) {
      const cluster = entry.cluster;
      if (!cluster.alive || entry.messages.length === 0) continue;
      const constants = this.constantPositions(entry);
      if (constants.length === 0) continue;
      // Group the window's messages by their words at the constant positions.
      const groups = new Map<string, WindowMessage[]>();
      for (const message of entry.messages) {
        const key = constants.map((p) => message.tokens[p]).join('\u0000');
        const group = groups.get(key);
        if (group === undefined) groups.set(key, [message]);
        else group.push(message);
      }
      // The cluster keeps the words it held before the window (or those of its founding line).
      const own = entry.before === undefined ? entry.messages[0] : undefined;
      const ownKey = constants.map((p) => (own === undefined ? entry.before?.tokens[p] : own.tokens[p])).join('\u0000');
      const kept = groups.get(ownKey) ?? [];
      this.rebuild(entry, kept);
      for (const [key, group] of groups) {
        if (key !== ownKey) this.splitOff(group);
      }
    }
  }

  /**
   * Positions that the window's lines differed at among themselves with fewer than
   * `variableValues` distinct words, each word on at least two lines. Only the window's lines
   * count: a word seen in an earlier window and another in this one are two sightings, not two
   * values side by side (a variable that changes slowly would otherwise split). A word seen once
   * is no evidence either way (two lines, two user names), and the similarity's verdict stands.
   */
  private constantPositions(entry: Touched): number[] {
    const cluster = entry.cluster;
    const before = entry.before;
    const positions: number[] = [];
    // Lines that repeated a message the template held before carry its word at its constant positions.
    const repeatedLines = entry.repeats.reduce((sum, m) => sum + m.count, 0);
    for (let p = 0; p < cluster.tokens.length; p++) {
      if (cluster.tokens[p] !== MASK) continue;
      const prior = before === undefined ? undefined : before.tokens[p];
      if (prior === MASK) continue;
      const lines = new Map<string, number>();
      if (prior !== undefined && repeatedLines > 0) lines.set(prior, repeatedLines);
      let words = true;
      for (const message of entry.messages) {
        const token = message.tokens[p] ?? MASK;
        if (!isWordValue(token)) {
          words = false;
          break;
        }
        lines.set(token, (lines.get(token) ?? 0) + message.count);
        if (lines.size >= this.options.variableValues) break;
      }
      if (!words || lines.size < 2 || lines.size >= this.options.variableValues) continue;
      if ([...lines.values()].every((n) => n >= 2)) positions.push(p);
    }
    return positions;
  }

  /** Recomputes a cluster's template from its state before the window and the messages it keeps. */
  private rebuild(entry: Touched, kept: readonly WindowMessage[]): void {
    const cluster = entry.cluster;
    const before = entry.before;
    const first = kept[0];
    // Counts are not touched: the window's lines are counted once the corrections are done.
    if (before !== undefined) {
      cluster.tokens = [...before.tokens];
      cluster.generalized = [...before.generalized];
    } else if (first !== undefined) {
      cluster.tokens = [...first.tokens];
      cluster.generalized = first.tokens.map(() => false);
      cluster.firstSeenIndex = first.firstIndex;
    }
    for (const message of kept) generalize(cluster.tokens, cluster.generalized, message.tokens);
    entry.messages = [...kept];
    this.setTemplate(cluster);
  }

  /** A group of the window's messages leaves its template for one of its own (or a twin's). */
  private splitOff(group: readonly WindowMessage[]): void {
    const first = group[0];
    if (first === undefined) return;
    const tokens = [...first.tokens];
    const generalized = tokens.map(() => false);
    for (const message of group) generalize(tokens, generalized, message.tokens);
    const leaf = this.leafFor(tokens);
    const template = tokens.join(' ');
    let target = (leaf.clusters ?? []).find((c) => c.alive && c.template === template);
    if (target === undefined) {
      target = this.createCluster(leaf, tokens, 0, first.firstIndex);
      target.generalized = generalized;
    }
    const entry = this.touchedEntry(target);
    for (const message of group) {
      message.cluster = target;
      entry.messages.push(message);
      target.firstSeenIndex = Math.min(target.firstSeenIndex, message.firstIndex);
    }
  }

  /**
   * The variable rule: templates of one leaf, at least `variableValues` of them, identical but for
   * the same positions where each has a word of its own, each word seen about once: those
   * positions are variables, and the templates merge.
   */
  private mergeVariables(touched: Map<Cluster, Touched>): void {
    const seeds = [...touched.values()].filter((e) => e.before === undefined && e.cluster.alive).map((e) => e.cluster);
    for (const seed of seeds) {
      if (!seed.alive) continue;
      const n = seed.tokens.length;
      const siblings = (seed.leaf.clusters ?? []).filter((c) => c !== seed && c.alive);
      if (siblings.length + 1 < this.options.variableValues) continue;
      const byPositions = new Map<string, Cluster[]>();
      for (const other of siblings) {
        const positions = wordDifferences(seed.tokens, other.tokens);
        if (positions === undefined || positions.length === 0) continue;
        // A variable slot leaves most of the message constant.
        if (n - positions.length < 2 || positions.length * 2 > n) continue;
        const key = positions.join(',');
        const group = byPositions.get(key);
        if (group === undefined) byPositions.set(key, [other]);
        else group.push(other);
      }
      let best: Cluster[] | undefined;
      let bestPositions: number[] = [];
      for (const [key, group] of byPositions) {
        if (best === undefined || group.length > best.length) {
          best = group;
          bestPositions = key.split(',').map(Number);
        }
      }
      if (best === undefined) continue;
      const group = [seed, ...best];
      if (group.length < this.options.variableValues) continue;
      // Each member its own word at each position, and few lines per word: values, not modes.
      const lines = group.reduce((sum, c) => sum + c.count + windowLines(touched.get(c)), 0);
      if (lines > 2 * group.length) continue;
      const distinct = bestPositions.every((p) => new Set(group.map((c) => c.tokens[p])).size === group.length);
      if (!distinct) continue;
      for (const p of bestPositions) {
        for (const member of group) {
          member.tokens[p] = MASK;
          member.generalized[p] = true;
        }
      }
      this.mergeInto(group);
    }
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
    cluster.alive = false;
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
        if (this.roots.get(Number(node.key)) === node) this.roots.delete(Number(node.key));
        break;
      }
      parent.children.delete(node.key);
      node = parent;
    }
  }
}

/** Lines of the window a template holds (they are counted into it after the corrections). */
function windowLines(entry: Touched | undefined): number {
  return entry === undefined ? 0 : entry.messages.reduce((sum, m) => sum + m.count, 0);
}

/** A masked message as tokens (`''` has none). */
function splitMasked(masked: string): string[] {
  return masked === '' ? [] : masked.split(' ');
}

/**
 * Generalizes a template (`tokens`, `generalized`) to cover `line`: each differing position
 * becomes a generalized `<*>`. Returns whether the template text changed.
 */
function generalize(tokens: string[], generalized: boolean[], line: readonly string[]): boolean {
  let changed = false;
  for (let i = 0; i < line.length; i++) {
    if (tokens[i] === line[i]) continue;
    if (tokens[i] !== MASK) {
      tokens[i] = MASK;
      changed = true;
    }
    generalized[i] = true;
  }
  return changed;
}

/**
 * The positions where two templates differ, if every difference is between two word values;
 * undefined otherwise. Shapes are not compared: class names differ in how many of their parts
 * hold digits (`org.apache.<*>.Foo`, `org.apache.bar.Baz`).
 */
function wordDifferences(a: readonly string[], b: readonly string[]): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const positions: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? MASK;
    const y = b[i] ?? MASK;
    if (x === y) continue;
    if (!isWordValue(x) || !isWordValue(y)) return undefined;
    positions.push(i);
  }
  return positions;
}
