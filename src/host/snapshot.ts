/**
 * Host snapshot and restore (design.md "Host state, error-path campaigns"): `host.snapshot()` is a
 * plain JSON value (serialisable, versioned) holding the whole object graph behind a Host -
 * platform, RMM, KVM objects, guest, page allocator, trace, time series, fault rules - and
 * `Host.restore(snap)` gives a host that continues exactly as the original would (same trace).
 *
 * The graph is copied generically, whatever fields the host, KVM and RMM objects have: class
 * instances keep their prototype (a class registry by name), and bigints, Maps, Sets, typed arrays
 * and DataViews (with shared buffers), shared references and cycles survive. Functions are not
 * data: the closures a Host wires at construction (the RMM trace listener, the fault injector's
 * hooks, the platform's RMI wrappers, chunk factories) are taken from a freshly created Host with
 * the same options, whose objects at the same place in the graph are reused and refilled (so
 * those closures see the restored state); module-level functions in shared tables (the RMI
 * handlers) come the same way. A function with no counterpart in a fresh host cannot be restored:
 * the error names where it is.
 *
 * A binary snapshot (`{binary: true}`) holds its buffers as ArrayBuffer copies. Restoring one
 * shares the big ones - the chunks of the granule table, the GPT and the page allocator
 * (src/arch/chunks.ts) and the memory pages (src/platform/physical-memory.ts) - with the
 * snapshot instead of copying them: those tables copy a chunk or page on its first write, so a
 * restore costs what the restored host goes on to write, not ~1 MB each time. The snapshot's
 * buffers are never written.
 *
 * A snapshot is taken only at a quiescent point: no cooperative thread (generator) alive and no
 * lock held; otherwise `snapshot()` refuses, naming the object.
 */
import { LockPoint, RwLock } from "../sched/coop.js";
import { GfnPages, GuestMemfd, Kvm, UserMemory, Vcpu } from "../kvm/kvm.js";
import { GfnBitmap } from "../kvm/mem-attr.js";
import { VmmBuffer } from "../kvm/rmi/populate.js";
import { RealmVm } from "../vmm/vm.js";
import { GuestCpu, GuestVm } from "../guest/guest.js";
import { RealmVcpu } from "../rmm/realm-exec.js";
import { Realm } from "../rmm/realm.js";
import { Rec } from "../rmm/rec.js";
import { Rtt } from "../rmm/s2tt.js";
import { SroContext, SroTable } from "../rmm/sro.js";
import { BlockCursor, OutList } from "../rmm/commands/v2/range-rtt.js";
import { Chunks } from "../arch/chunks.js";
import { PhysicalMemory } from "../platform/physical-memory.js";

/** Format name and version of a snapshot; a snapshot of another version is refused. */
export const HOST_SNAPSHOT_FORMAT = "cca-realm-sim/host-snapshot";
export const HOST_SNAPSHOT_VERSION = 1;

/** An encoded value: a JSON primitive, or one of the tagged forms below. */
export type Enc =
  | string
  | number
  | boolean
  | null
  | { $r: number } //        reference to node n
  | { $b: string } //        bigint (decimal)
  | { $n: string } //        NaN, Infinity, -Infinity, -0
  | { $u: 1 } //             undefined
  | { $f: number; k: Enc }; // a function: the one at field k of node $f in a fresh host

/** One object of the graph. */
export interface EncNode {
  /** Kind: "O" plain, "N" null-prototype, "A" array, "M" Map, "S" Set, "B" ArrayBuffer, "V:<Type>" a view, "C:<Class>". */
  t: string;
  /** Where it was first reached: [parent node, key] (node 0 has none). */
  at?: [number, Enc];
  /** Frozen. */
  z?: 1;
  /** Fields as [key, value] in order (O, N, C); elements (A, S); [key, value] entries (M); base64, or a copy in a binary snapshot (B); [buffer, offset, length] (V). */
  v: unknown;
}

export interface EncGraph {
  nodes: EncNode[];
}

export interface HostSnapshot {
  format: typeof HOST_SNAPSHOT_FORMAT;
  version: number;
  /** The posting (for a reader; the options say it too). */
  series: string;
  /** Host.create options of the host (encoded graph). */
  options: EncGraph;
  /** The host's object graph; node 0 is the Host. */
  graph: EncGraph;
}

/** Classes that can appear after a host is created (the others are found in a fresh host). */
const CLASSES: readonly (abstract new (...a: never[]) => unknown)[] = [
  RealmVm, Kvm, Vcpu, GuestMemfd, GfnPages, UserMemory, GfnBitmap, VmmBuffer, RwLock, LockPoint,
  GuestVm, GuestCpu, RealmVcpu, Realm, Rec, Rtt, SroContext, SroTable, BlockCursor, OutList, Chunks,
];

const TYPED: Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView> = {
  Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, Uint8ClampedArray, DataView: DataView as unknown as new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView,
};

function pathText(nodes: EncNode[], i: number): string {
  const parts: string[] = [];
  for (let n = i; nodes[n]?.at !== undefined; n = nodes[n]!.at![0]) {
    const k = nodes[n]!.at![1];
    parts.push(typeof k === "string" && /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
  }
  return `host${parts.reverse().join("")}`;
}

/**
 * Encode the object graph reachable from `root`. `what` names the caller in errors. A generator
 * (a live cooperative thread) or a held lock in the graph is refused (not a quiescent point).
 * Arrays in `omit` are encoded empty (restored as empty arrays at their place).
 */
export function encodeGraph(root: object, what: string, binary = false, omit?: ReadonlySet<object>): EncGraph {
  const nodes: EncNode[] = [];
  const ids = new Map<object, number>();
  const protoNames = new Map<string, object>();
  const where = (i: number, k?: Enc): string => `${pathText(nodes, i)}${k === undefined ? "" : typeof k === "string" ? `.${k}` : `[${JSON.stringify(k)}]`}`;

  const ref = (o: object, parent: number, key: Enc | undefined): Enc => {
    const id = ids.get(o);
    if (id !== undefined) return { $r: id };
    const n = nodes.length;
    const node: EncNode = { t: "", v: null };
    if (key !== undefined && parent >= 0) node.at = [parent, key];
    nodes.push(node);
    ids.set(o, n);
    fill(o, n, node);
    return { $r: n };
  };

  const val = (x: unknown, parent: number, key: Enc | undefined): Enc => {
    switch (typeof x) {
      case "string":
      case "boolean":
        return x;
      case "number":
        return Number.isFinite(x) && !Object.is(x, -0) ? x : { $n: Object.is(x, -0) ? "-0" : String(x) };
      case "bigint":
        return { $b: x.toString() };
      case "undefined":
        return { $u: 1 };
      case "function":
        if (key === undefined || parent < 0) throw new Error(`${what}: a function in a Set or as a Map key at ${where(parent)} cannot be snapshotted`);
        return { $f: parent, k: key };
      case "symbol":
        throw new Error(`${what}: a symbol at ${where(parent, key)} cannot be snapshotted`);
      default:
        return x === null ? null : ref(x as object, parent, key);
    }
  };

  // depth first: an object's place is where the first field leading to it (in field order) is,
  // so objects a Host makes at creation are found at the place a fresh Host has them
  function fill(o: object, n: number, node: EncNode): void {
    if (Object.isFrozen(o)) node.z = 1;
    // an array left out (a log's history): restored empty, in place
    if (omit !== undefined && omit.has(o)) {
      node.t = "A";
      node.v = [];
      return;
    }
    const tag = Object.prototype.toString.call(o);
    if (tag === "[object Generator]") throw new Error(`${what}: not at a quiescent point: a live cooperative thread (generator) is held at ${where(n)}`);
    if (o instanceof RwLock && (o.writer >= 0 || o.readers > 0)) throw new Error(`${what}: not at a quiescent point: lock '${o.name}' at ${where(n)} is held (writer ${o.writer}, readers ${o.readers})`);
    if (Array.isArray(o)) {
      node.t = "A";
      const a: Enc[] = new Array(o.length);
      for (let i = 0; i < o.length; i++) a[i] = val(o[i], n, i);
      node.v = a;
    } else if (o instanceof Map) {
      node.t = "M";
      const es: [Enc, Enc][] = [];
      for (const [k, v] of o) {
        const ek = val(k, n, undefined);
        es.push([ek, val(v, n, typeof ek === "object" && ek !== null ? undefined : ek)]);
      }
      node.v = es;
    } else if (o instanceof Set) {
      node.t = "S";
      const es: Enc[] = [];
      for (const v of o) es.push(val(v, n, undefined));
      node.v = es;
    } else if (o instanceof ArrayBuffer) {
      node.t = "B";
      node.v = binary ? o.slice(0) : Buffer.from(o).toString("base64");
    } else if (ArrayBuffer.isView(o)) {
      const name = o.constructor.name;
      if (TYPED[name] === undefined) throw new Error(`${what}: view type ${name} at ${where(n)} is not supported`);
      node.t = `V:${name}`;
      const len = o instanceof DataView ? o.byteLength : (o as unknown as { length: number }).length;
      node.v = [val(o.buffer, n, "buffer"), o.byteOffset, len];
    } else {
      const proto = Object.getPrototypeOf(o) as object | null;
      if (proto === null) node.t = "N";
      else if (proto === Object.prototype) node.t = "O";
      else {
        const name = (proto as { constructor?: { name?: string } }).constructor?.name;
        if (typeof name !== "string" || name === "" || tag !== "[object Object]") throw new Error(`${what}: an object of an unsupported kind (${tag}) at ${where(n)}`);
        const prev = protoNames.get(name);
        if (prev !== undefined && prev !== proto) throw new Error(`${what}: two classes named ${name} in the graph (at ${where(n)}): rename one`);
        protoNames.set(name, proto);
        node.t = `C:${name}`;
      }
      const fields: [string, Enc][] = [];
      for (const k of Object.getOwnPropertyNames(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k)!;
        if (!("value" in d)) throw new Error(`${what}: accessor property ${where(n, k)} cannot be snapshotted`);
        fields.push([k, val(d.value, n, k)]);
      }
      if (Object.getOwnPropertySymbols(o).length > 0) throw new Error(`${what}: symbol-keyed property at ${where(n)} cannot be snapshotted`);
      node.v = fields;
    }
  }
  ref(root, -1, undefined);
  return { nodes };
}

const STATIC_PROTOS: ReadonlyMap<string, object> = new Map(CLASSES.map((c) => [c.name, c.prototype as object]));
const FRESH_PROTOS = new Map<string, object>();

/** Prototypes of the class instances reachable from `root`, by class name. */
function protosOf(root: object): Map<string, object> {
  const out = new Map<string, object>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== "object" || seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) continue;
    if (x instanceof Map) {
      for (const [k, v] of x) stack.push(k, v);
      continue;
    }
    if (x instanceof Set) {
      for (const v of x) stack.push(v);
      continue;
    }
    const p = Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null;
    if (p !== null && p !== Object.prototype && !Array.isArray(x)) {
      const name = p.constructor?.name;
      if (typeof name === "string" && !out.has(name)) out.set(name, p);
    }
    for (const k of Object.getOwnPropertyNames(x)) {
      const d = Object.getOwnPropertyDescriptor(x, k)!;
      if ("value" in d) stack.push(d.value);
    }
  }
  return out;
}

function childOf(o: unknown, key: Enc): unknown {
  if (o === null || typeof o !== "object") return undefined;
  if (o instanceof Map) return o.get(decodeKey(key));
  if (o instanceof Set || ArrayBuffer.isView(o)) return key === "buffer" && ArrayBuffer.isView(o) ? o.buffer : undefined;
  const k = typeof key === "number" ? String(key) : key;
  if (typeof k !== "string") return undefined;
  const d = Object.getOwnPropertyDescriptor(o, k);
  return d !== undefined && "value" in d ? d.value : undefined;
}

function decodeKey(k: Enc): unknown {
  if (k !== null && typeof k === "object") {
    if ("$b" in k) return BigInt(k.$b);
    if ("$n" in k) return k.$n === "-0" ? -0 : Number(k.$n);
    if ("$u" in k) return undefined;
  }
  return k;
}

/**
 * Decode a graph. Objects at the same place in `fresh` (a host just created with the same
 * options) with the same class are reused and refilled; functions come from there.
 */
export function decodeGraph(g: EncGraph, fresh: object | undefined, what: string): unknown {
  const nodes = g.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) throw new TypeError(`${what}: the snapshot has no objects`);
  // the fresh host's classes, found once per process (prototypes do not change)
  if (fresh !== undefined && FRESH_PROTOS.size === 0) for (const [k, v] of protosOf(fresh)) FRESH_PROTOS.set(k, v);
  const freshProtos = FRESH_PROTOS;
  // 1. the fresh host's object at each node's place (before anything is refilled)
  const freshAt: unknown[] = new Array(nodes.length);
  freshAt[0] = fresh;
  for (let i = 1; i < nodes.length; i++) {
    const at = nodes[i]!.at;
    freshAt[i] = at === undefined ? undefined : childOf(freshAt[at[0]], at[1]);
  }
  const fnOf = (e: { $f: number; k: Enc }): unknown => {
    const f = childOf(freshAt[e.$f], e.k);
    if (typeof f !== "function") throw new Error(`${what}: the function at ${pathText(nodes, e.$f)}.${String(e.k)} has no counterpart in a fresh host (a closure made after creation cannot be restored)`);
    return f;
  };
  // functions are looked up now, while the fresh objects still hold theirs
  const fns = new Map<object, unknown>();
  const scan = (e: unknown): void => {
    if (e !== null && typeof e === "object" && "$f" in (e as object)) fns.set(e as object, fnOf(e as { $f: number; k: Enc }));
  };
  for (const nd of nodes) {
    if (nd.t === "O" || nd.t === "N" || nd.t.startsWith("C:")) for (const [, v] of nd.v as [string, Enc][]) scan(v);
    else if (nd.t === "A" || nd.t === "S") for (const v of nd.v as Enc[]) scan(v);
    else if (nd.t === "M") for (const [, v] of nd.v as [Enc, Enc][]) scan(v);
  }
  // buffers a restore may share with a binary snapshot (copy on write in their tables)
  const share = sharedBuffers(nodes);
  // 2. allocate (or reuse) every object
  const objs: unknown[] = new Array(nodes.length);
  const protoOf = (name: string, i: number): object => {
    const p = STATIC_PROTOS.get(name) ?? freshProtos.get(name);
    if (p === undefined) throw new Error(`${what}: class ${name} (at ${pathText(nodes, i)}) is not known: add it to CLASSES in src/host/snapshot.ts`);
    return p;
  };
  for (let i = 0; i < nodes.length; i++) {
    const nd = nodes[i]!;
    const f = freshAt[i];
    const t = nd.t;
    if (t === "B") {
      if (nd.v instanceof ArrayBuffer) objs[i] = share.has(i) ? nd.v : nd.v.slice(0);
      else {
        const b = Buffer.from(nd.v as string, "base64");
        objs[i] = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      }
    } else if (t === "A") objs[i] = Array.isArray(f) && !Object.isFrozen(f) ? f : [];
    else if (t === "M") objs[i] = f instanceof Map ? f : new Map();
    else if (t === "S") objs[i] = f instanceof Set ? f : new Set();
    else if (t === "O") objs[i] = f !== null && typeof f === "object" && Object.getPrototypeOf(f) === Object.prototype && !Object.isFrozen(f) ? f : {};
    else if (t === "N") objs[i] = Object.create(null);
    else if (t.startsWith("C:")) {
      const proto = protoOf(t.slice(2), i);
      objs[i] = f !== null && typeof f === "object" && Object.getPrototypeOf(f) === proto && !Object.isFrozen(f) ? f : Object.create(proto);
    } else if (!t.startsWith("V:")) throw new TypeError(`${what}: unknown node kind '${t}'`);
  }
  const dec = (e: Enc): unknown => {
    if (e === null || typeof e !== "object") return e;
    if ("$r" in e) return objs[e.$r];
    if ("$f" in e) return fns.get(e);
    return decodeKey(e);
  };
  // views after their buffers
  for (let i = 0; i < nodes.length; i++) {
    const nd = nodes[i]!;
    if (!nd.t.startsWith("V:")) continue;
    const [b, off, len] = nd.v as [Enc, number, number];
    const C = TYPED[nd.t.slice(2)];
    if (C === undefined) throw new TypeError(`${what}: unknown view type '${nd.t}'`);
    objs[i] = new C(dec(b) as ArrayBuffer, off, len);
  }
  // 3. fill
  for (let i = 0; i < nodes.length; i++) {
    const nd = nodes[i]!;
    const o = objs[i] as Record<string, unknown>;
    const t = nd.t;
    if (t === "A") {
      const a = o as unknown as unknown[];
      const vs = nd.v as Enc[];
      a.length = vs.length;
      for (let j = 0; j < vs.length; j++) a[j] = dec(vs[j]!);
    } else if (t === "M") {
      const m = o as unknown as Map<unknown, unknown>;
      m.clear();
      for (const [k, v] of nd.v as [Enc, Enc][]) m.set(dec(k), dec(v));
    } else if (t === "S") {
      const s = o as unknown as Set<unknown>;
      s.clear();
      for (const v of nd.v as Enc[]) s.add(dec(v));
    } else if (t === "O" || t === "N" || t.startsWith("C:")) {
      const fields = nd.v as [string, Enc][];
      const have = Object.getOwnPropertyNames(o);
      // keep the object's shape when its fields are the same, in the same order
      const same = have.length === fields.length && fields.every(([k], j) => have[j] === k);
      if (!same) for (const k of have) delete o[k];
      for (const [k, v] of fields) o[k] = dec(v);
    }
    if (nd.z === 1) Object.freeze(o);
  }
  // the copy-on-write tables learn which of their buffers are the snapshot's
  for (let i = 0; i < nodes.length; i++) {
    const o = objs[i];
    if (o instanceof Chunks || o instanceof PhysicalMemory) o.adoptShared(share.size > 0);
  }
  return objs[0];
}

/** Field `k` of an object node, if it is a reference. */
function refField(nd: EncNode, k: string): number | undefined {
  if (!Array.isArray(nd.v)) return undefined;
  for (const [fk, fv] of nd.v as [string, Enc][]) if (fk === k) return fv !== null && typeof fv === "object" && "$r" in fv ? fv.$r : undefined;
  return undefined;
}

/**
 * The binary buffer nodes held by the copy-on-write tables: the chunks of each Chunks (a typed
 * array, or a record of typed arrays) and the pages of PhysicalMemory. Empty for a JSON snapshot.
 */
function sharedBuffers(nodes: EncNode[]): Set<number> {
  const out = new Set<number>();
  const view = (r: Enc): void => {
    if (r === null || typeof r !== "object" || !("$r" in r)) return;
    const nd = nodes[r.$r];
    if (nd === undefined) return;
    if (nd.t.startsWith("V:")) {
      const b = (nd.v as [Enc, number, number])[0];
      if (b !== null && typeof b === "object" && "$r" in b && nodes[b.$r]?.t === "B" && nodes[b.$r]!.v instanceof ArrayBuffer) out.add(b.$r);
    }
  };
  for (const nd of nodes) {
    const field = nd.t === "C:Chunks" ? "map" : nd.t === "C:PhysicalMemory" ? "pages" : undefined;
    if (field === undefined) continue;
    const m = refField(nd, field);
    const mn = m === undefined ? undefined : nodes[m];
    if (mn === undefined || mn.t !== "M") continue;
    for (const [, v] of mn.v as [Enc, Enc][]) {
      if (v === null || typeof v !== "object" || !("$r" in v)) continue;
      const c = nodes[v.$r];
      if (c === undefined) continue;
      if (c.t.startsWith("V:")) view(v);
      else if (c.t === "O") for (const [, fv] of c.v as [string, Enc][]) view(fv);
    }
  }
  return out;
}

/** Check a snapshot's format and version before restoring it. */
export function checkSnapshot(snap: unknown): HostSnapshot {
  if (snap === null || typeof snap !== "object") throw new TypeError("Host.restore: expected a snapshot object from host.snapshot()");
  const s = snap as Partial<HostSnapshot>;
  if (s.format !== HOST_SNAPSHOT_FORMAT) throw new TypeError(`Host.restore: not a host snapshot (format ${JSON.stringify(s.format)}, expected "${HOST_SNAPSHOT_FORMAT}")`);
  if (s.version !== HOST_SNAPSHOT_VERSION) throw new RangeError(`Host.restore: snapshot version ${String(s.version)} is not supported (this build reads version ${HOST_SNAPSHOT_VERSION} only)`);
  if (s.graph === undefined || s.options === undefined) throw new TypeError("Host.restore: the snapshot lacks its graph or options");
  return s as HostSnapshot;
}
