// Module-loading hook (test only): rewrites ONE source file of the code under test as it is
// loaded, to turn one safety rule off. Production code carries no switch for this; the rewrite
// exists only in a process that registered this hook (see mutations.ts).
//
// The hook runs after tsx compiled the file, so patterns match the emitted JavaScript. A pattern
// that no longer matches fails the load loudly: a mutation that silently did nothing would make
// "the swarm catches it" meaningless.

let mutation = null;
let port = null;

export function initialize(data) {
  mutation = data.mutation;
  port = data.port;
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (mutation === null || !url.endsWith(mutation.file)) return result;
  const source = String(result.source);
  const pattern = new RegExp(mutation.find);
  if (!pattern.test(source)) {
    throw new Error(
      `mutation ${mutation.name}: /${mutation.find}/ not found in ${mutation.file}; update test/dst/mutation/mutations.ts`,
    );
  }
  port.postMessage({ applied: mutation.name, url });
  return { ...result, source: source.replace(pattern, mutation.replace) };
}
