// `await using` needs Symbol.asyncDispose at run time. Node.js 20 defines it; older
// runtimes and some browsers do not, so define the well-known symbol where it is missing
// (the same shim TypeScript's release notes suggest). Imported for its side effect.
const symbols = Symbol as unknown as { asyncDispose?: symbol; dispose?: symbol };
symbols.asyncDispose ??= Symbol.for('Symbol.asyncDispose');
symbols.dispose ??= Symbol.for('Symbol.dispose');

export {};
