import { createHash } from 'node:crypto';
import { parameterize } from '../grouping/parameterize.js';

/**
 * Online log template mining in the manner of Drain (He et al., ICWS 2017; Drain3): each message
 * is masked (numbers, ids, hex, UUIDs, durations, IPs, emails, dates, URLs → placeholders, the
 * grouping's own `parameterize`), split into tokens, and routed through a fixed-depth tree (token
 * count, then the first tokens) to a few candidate templates; the most similar one above the
 * threshold absorbs the message (positions that differ become `<*>`), otherwise a new template is
 * born. Pure and synchronous; memory is bounded (at most `maxTemplates`, least recently used
 * evicted, empty tree branches pruned). A template's id is a hash of its text, so two processes
 * that reach the same template agree on its id.
 */

export const WILDCARD = '<*>';

export interface TemplateMinerOptions {
  /** Templates kept; the least recently matched is forgotten beyond it. */
  maxTemplates?: number;
  /** Share of equal tokens (wildcards excluded) for a message to join a template. */
  similarity?: number;
  /** Leading tokens used to route in the tree (Drain's depth − 2). */
  prefixTokens?: number;
  /** Children per tree node before further distinct tokens share the `<*>` child. */
  maxChildren?: number;
}

export interface TemplateMatch {
  templateId: string;
  template: string;
  /** A template that did not exist before this message. */
  isNew: boolean;
  /** The template was generalised by this message: its previous id (stats kept under it should move). */
  previousId?: string;
  /** Messages matched by this template so far (since it was last evicted). */
  count: number;
}

export interface TemplateSummary {
  templateId: string;
  template: string;
  count: number;
}

interface Cluster {
  tokens: string[];
  /** The tokens joined (the template's text), kept so a match does not join them again. */
  text: string;
  id: string;
  count: number;
  path: string[];
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusters: Set<Cluster>;
}

/** Mixed letters and digits, long: base64 / nanoid / Telegram file ids (`AgADBAADr6cxG1`), not `v2` or `utf8`. */
const ID_TOKEN = /^(?=.*\d)(?=.*[A-Za-z])[\w-]{10,}$/;
/** A token worth a path of its own only when it has no digits and is not a placeholder. */
const VARIABLE_TOKEN = /\d|^<[a-z_*]+>$/;

/** The masked tokens of a message's first line. */
export function tokenize(message: string): string[] {
  const newline = message.indexOf('\n');
  const firstLine = newline < 0 ? message : message.slice(0, newline);
  // One array (the white-space-separated tokens), masked in place: this runs for every line stored.
  const tokens = parameterize(firstLine).match(TOKEN) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.length >= 10 && ID_TOKEN.test(t)) tokens[i] = '<id>';
  }
  return tokens;
}

/** A token: what `split(/\s+/)` leaves between white space. */
const TOKEN = /\S+/g;

/** Deterministic id of a template text (16 hex characters of its SHA-256). */
export function templateIdOf(template: string): string {
  return createHash('sha256').update(template).digest('hex').slice(0, 16);
}

export class TemplateMiner {
  private readonly root: TreeNode = newNode();
  /** Every live cluster, least recently used first (a Set keeps insertion order; a match re-inserts). */
  private readonly lru = new Set<Cluster>();
  private readonly maxTemplates: number;
  private readonly similarity: number;
  private readonly prefixTokens: number;
  private readonly maxChildren: number;

  constructor(options: TemplateMinerOptions = {}) {
    this.maxTemplates = options.maxTemplates ?? 1000;
    this.similarity = options.similarity ?? 0.5;
    this.prefixTokens = options.prefixTokens ?? 2;
    this.maxChildren = options.maxChildren ?? 100;
    if (this.maxTemplates < 1) throw new Error('maxTemplates must be at least 1');
  }

  get size(): number {
    return this.lru.size;
  }

  add(message: string): TemplateMatch {
    const tokens = tokenize(message);
    const leaf = this.leafFor(tokens);
    const cluster = this.bestMatch(leaf.clusters, tokens);
    if (!cluster) return this.create(leaf, tokens);
    this.touch(cluster);
    cluster.count++;
    const merged = mergeTokens(cluster.tokens, tokens);
    if (!merged) return { templateId: cluster.id, template: cluster.text, isNew: false, count: cluster.count };
    const previousId = cluster.id;
    cluster.tokens = merged;
    cluster.text = merged.join(' ');
    cluster.id = templateIdOf(cluster.text);
    return { templateId: cluster.id, template: cluster.text, isNew: false, previousId, count: cluster.count };
  }

  /**
   * Takes a template as stored (its masked tokens joined by spaces, `<*>` where it generalised),
   * so a restarted process goes on from the templates it had rather than re-learning them (and
   * calling each one new). A template already known is left as it is.
   */
  seed(template: string, count = 1): void {
    const tokens = template.split(' ').filter(Boolean);
    const leaf = this.leafFor(tokens);
    const text = tokens.join(' ');
    const id = templateIdOf(text);
    for (const c of leaf.clusters) if (c.id === id) return;
    const cluster: Cluster = { tokens, text, id, count, path: this.pathFor(tokens) };
    leaf.clusters.add(cluster);
    this.lru.add(cluster);
    if (this.lru.size > this.maxTemplates) this.evict(this.lru.values().next().value!);
  }

  /** Nodes in the routing tree (bounded by the templates: evictions prune their branch); for tests and metrics. */
  treeNodes(): number {
    const count = (node: TreeNode): number => 1 + [...node.children.values()].reduce((n, c) => n + count(c), 0);
    return count(this.root);
  }

  /** The templates, most matched first. */
  templates(): TemplateSummary[] {
    return [...this.lru].map((c) => ({ templateId: c.id, template: c.text, count: c.count })).sort((a, b) => b.count - a.count);
  }

  private create(leaf: TreeNode, tokens: string[]): TemplateMatch {
    const text = tokens.join(' ');
    const cluster: Cluster = { tokens, text, id: templateIdOf(text), count: 1, path: this.pathFor(tokens) };
    leaf.clusters.add(cluster);
    this.lru.add(cluster);
    if (this.lru.size > this.maxTemplates) this.evict(this.lru.values().next().value!);
    return { templateId: cluster.id, template: text, isNew: true, count: 1 };
  }

  private touch(cluster: Cluster): void {
    this.lru.delete(cluster);
    this.lru.add(cluster);
  }

  private evict(cluster: Cluster): void {
    this.lru.delete(cluster);
    const nodes: TreeNode[] = [this.root];
    for (const key of cluster.path) nodes.push(nodes[nodes.length - 1]!.children.get(key)!);
    nodes[nodes.length - 1]!.clusters.delete(cluster);
    // Prune the branch bottom-up while it holds nothing, so the tree is bounded by the templates.
    for (let i = nodes.length - 1; i > 0; i--) {
      const node = nodes[i]!;
      if (node.clusters.size > 0 || node.children.size > 0) break;
      nodes[i - 1]!.children.delete(cluster.path[i - 1]!);
    }
  }

  /** Routing keys: the token count, then the first tokens (a variable-looking token routes as `<*>`). */
  private pathFor(tokens: string[]): string[] {
    const path = [String(tokens.length)];
    for (const token of tokens.slice(0, this.prefixTokens)) path.push(VARIABLE_TOKEN.test(token) ? WILDCARD : token);
    return path;
  }

  /** The leaf for these tokens, creating the branch (a full node sends new keys to its `<*>` child). */
  private leafFor(tokens: string[]): TreeNode {
    let node = this.root;
    const path = this.pathFor(tokens);
    for (let i = 0; i < path.length; i++) {
      let key = path[i]!;
      if (!node.children.has(key) && i > 0 && node.children.size >= this.maxChildren) key = WILDCARD;
      path[i] = key;
      let child = node.children.get(key);
      if (!child) node.children.set(key, (child = newNode()));
      node = child;
    }
    return node;
  }

  private bestMatch(candidates: Set<Cluster>, tokens: string[]): Cluster | undefined {
    let best: Cluster | undefined;
    let bestScore = -1;
    let bestWildcards = -1;
    for (const cluster of candidates) {
      const template = cluster.tokens;
      // Drain's sequence similarity: equal tokens over length, wildcards not counted (they break ties).
      let equal = 0;
      let wildcards = 0;
      for (let i = 0; i < template.length; i++) {
        if (template[i] === WILDCARD) wildcards++;
        else if (template[i] === tokens[i]) equal++;
      }
      const score = template.length === 0 ? 1 : equal / template.length;
      if (score > bestScore || (score === bestScore && wildcards > bestWildcards)) {
        best = cluster;
        bestScore = score;
        bestWildcards = wildcards;
      }
    }
    return best && bestScore >= this.similarity ? best : undefined;
  }
}

function newNode(): TreeNode {
  return { children: new Map(), clusters: new Set() };
}

/** The template with differing positions made `<*>`; undefined when nothing changes. */
function mergeTokens(template: string[], tokens: string[]): string[] | undefined {
  // Most matches change nothing: look first, copy only then.
  let i = 0;
  while (i < template.length && (template[i] === WILDCARD || template[i] === tokens[i])) i++;
  if (i === template.length) return undefined;
  return template.map((t, j) => (t === WILDCARD || t === tokens[j] ? t : WILDCARD));
}
