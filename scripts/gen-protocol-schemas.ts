// Writes the JSON Schema catalogue generated from src/protocol/schemas.ts into
// firmware-spec/schemas/ (run by `npm run gen:protocol`; a test fails when the copy is stale).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SCHEMA_FINGERPRINT, schemaBundle, schemaFingerprintOf } from '../src/protocol/index.ts';

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'firmware-spec', 'schemas');

/** File name → exact file content. */
export function schemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('protocol.schema.json', `${JSON.stringify(schemaBundle(), null, 2)}\n`);
  files.set('FINGERPRINT', `${schemaFingerprintOf(schemaBundle())}\n`);
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of schemaFiles()) writeFileSync(join(SCHEMA_DIR, name), text);
  const fp = schemaFingerprintOf(schemaBundle());
  console.log(`wrote ${SCHEMA_DIR} (fingerprint ${fp})`);
  if (fp !== SCHEMA_FINGERPRINT) console.log(`set SCHEMA_FINGERPRINT in src/protocol/json-schema.ts to '${fp}' (it says '${SCHEMA_FINGERPRINT}')`);
}
