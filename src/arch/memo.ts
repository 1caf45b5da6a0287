/**
 * A one-entry memo: `f` applied to the last argument seen, recomputed only when the argument
 * changes. For hot paths that see the same value call after call (the RD of a VM's RMI calls, a
 * REC and its run page at every entry, ICH_HCR_EL2 entry after entry) and would otherwise make a
 * new bigint each time; bigints are immutable, so sharing the result is invisible.
 */
export function lastValue<A, R>(f: (a: A) => R): (a: A) => R {
  let has = false;
  let lastIn: A;
  let lastOut: R;
  return (a) => {
    if (!has || a !== lastIn) {
      lastIn = a;
      lastOut = f(a);
      has = true;
    }
    return lastOut;
  };
}
