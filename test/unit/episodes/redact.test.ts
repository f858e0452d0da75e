import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactDeep, redactSecrets } from '../../../server/episodes/redact';

// Realistic secrets (fake values in the real shapes) that must be redacted, with the secret
// part each must remove. Built by concatenation so this file itself does not trip scanners.
const K = (...p: string[]) => p.join('');
const SECRETS: [string, string, string][] = [
  ['aws-access-key', `const id = "${K('AKIA', 'IOSFODNN7EXAMPLE')}";`, K('AKIA', 'IOSFODNN7EXAMPLE')],
  ['aws-access-key', `aws_access_key_id = ${K('ASIA', 'Y34FZKBOKMUTVV7A')}`, K('ASIA', 'Y34FZKBOKMUTVV7A')],
  ['github-token', `git clone https://${K('ghp_', 'R9aXz0b1c2d3e4f5g6h7i8j9k0lMnOpQrStU')}@github.com/o/r`, K('ghp_', 'R9aXz0b1c2d3e4f5g6h7i8j9k0lMnOpQrStU')],
  ['github-token', `token=${K('gho_', '16C7e42F292c6912E7710c838347Ae178B4a')}`, K('gho_', '16C7e42F292c6912E7710c838347Ae178B4a')],
  ['github-token', `GITHUB_TOKEN: ${K('github_pat_', '11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuV')}`, K('github_pat_', '11ABCDEFG0aBcDeFgHiJkL')],
  ['slack-token', `slack.token = '${K('xoxb-', '2637081234-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx')}'`, K('xoxb-', '2637081234')],
  ['slack-webhook', `post("${K('https://hooks.slack.com/services/', 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX')}")`, 'T00000000/B00000000'],
  ['openai-key', `openai.api_key = "${K('sk-', 'proj-Ab3dEf6hIj9kLmN0pQrStUvWxYz123456')}"`, K('sk-', 'proj-Ab3dEf6hIj9kLmN0pQ')],
  ['openai-key', `OPENAI_API_KEY=${K('sk-', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0')}`, K('sk-', 'A1b2C3d4E5f6')],
  ['google-api-key', `const KEY = '${K('AIza', 'SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY')}';`, K('AIza', 'SyD-9tSrke72PouQMnMX')],
  ['stripe-key', `Stripe(${K('"sk_live_', '4eC39HqLyjWDarjtT1zdp7dc"')})`, K('sk_live_', '4eC39HqLyjWDarjtT1zdp7dc')],
  ['stripe-key', `stripe.api_key = ${K('rk_live_', '51H8x2eKZvKYlo2C0abcdEFGH')}`, K('rk_live_', '51H8x2eKZvKYlo2C0abcdEFGH')],
  ['jwt', `Authorization: Bearer ${K('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0', '.', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c')}`, 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'],
  ['private-key', `key = """${K('-----BEGIN RSA ', 'PRIVATE KEY-----')}\nMIIEpAIBAAKCAQEA7bq98a2bXyz\nabcdefghijk\n${K('-----END RSA ', 'PRIVATE KEY-----')}"""`, 'MIIEpAIBAAKCAQEA7bq98a2bXyz'],
  ['private-key', `${K('-----BEGIN OPENSSH ', 'PRIVATE KEY-----')}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n`, 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'],
  ['connection-password', `DATABASE_URL=postgres://admin:${K('S3cr3t', 'P4ss!')}@db.internal:5432/app`, K('S3cr3t', 'P4ss!')],
  ['connection-password', `mongoose.connect("mongodb+srv://app:${K('hunter2', 'hunter2')}@cluster0.mongodb.net/test")`, K('hunter2', 'hunter2')],
  ['connection-password', `redis://default:${K('Zx9', 'yQw81Lp')}@localhost:6379`, K('Zx9', 'yQw81Lp')],
  ['azure-connection-key', `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${K('Eby8vdM02xNO', 'cqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsu')}==;`, K('Eby8vdM02xNO', 'cqFl')],
  ['assigned-secret', `password = "${K('correct', '-horse-battery')}"`, K('correct', '-horse-battery')],
  ['assigned-secret', `const dbPassword: string = '${K('Tr0ub4', 'dor&3')}';`, K('Tr0ub4', 'dor&3')],
  ['assigned-secret', `{"client_secret": "${K('9f8e7d6c', '5b4a3f2e1d')}"}`, K('9f8e7d6c', '5b4a3f2e1d')],
  ['assigned-secret', `export DB_PASSWORD=${K('plainletters', 'only')}`, K('plainletters', 'only')],
  ['assigned-secret', `  api_key: ${K('a8f5f167f44f', '4964e6c998dee827110c')}`, K('a8f5f167f44f', '4964e6c998dee827110c')],
  ['assigned-secret', `auth_token => "${K('tok_', '81b2c3d4e5f6')}"`, K('tok_', '81b2c3d4e5f6')],
];

// Near misses that look secret-ish but are ordinary code and must be left exactly as they are.
const NEAR_MISSES = [
  'const AKIA = 1; // prefix alone is not a key',
  'const id = "AKIAshort";',
  'if (password === undefined) throw new Error("password required");',
  'const password = getPassword(user);',
  'password: string;',
  'token: Token,',
  'interface Creds { apiKey: string; secret?: string }',
  'password = os.environ["DB_PASSWORD"]',
  'API_KEY=${API_KEY}',
  'password: process.env.DB_PASSWORD',
  'const token = "<your token here>";',
  'secret = "changeme"',
  'const sk = "sk-short";',
  'url = "https://example.com/path/to/page"',
  'postgres://localhost:5432/app',
  'git clone https://github.com/owner/repo.git',
  'const tokens = tokenize(text);',
  'const message = "Invalid token: please sign in again";',
  'ghp_ is the prefix GitHub uses for personal tokens',
  'function verifyPassword(password, hash) { return bcrypt.compare(password, hash); }',
  'eyJhbGciOiJIUzI1NiJ9 is base64 for a JWT header',
  '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  'const secretsPath = "secrets/app.yaml";',
  'label: "Password"',
  'self.access_key = access_key',
];

test('every realistic secret in the corpus is redacted, and only the secret part', () => {
  for (const [kind, line, secretPart] of SECRETS) {
    const r = redactSecrets(line);
    assert.ok(!r.text.includes(secretPart), `${kind} leaked in: ${r.text}`);
    assert.ok(r.found.length > 0, `${kind}: nothing found in ${line}`);
    assert.ok(r.text.includes('[REDACTED:'), r.text);
  }
  // The surrounding code survives: the assignment keeps its name.
  assert.equal(redactSecrets(`password = "${K('correct', '-horse-battery')}"`).text, 'password = "[REDACTED:assigned-secret]"');
  assert.match(redactSecrets(`DATABASE_URL=postgres://admin:${K('S3cr3t', 'P4ss!')}@db.internal:5432/app`).text, /postgres:\/\/admin:\[REDACTED:[a-z-]+\]@db\.internal:5432\/app/);
});

test('near misses are left untouched', () => {
  for (const line of NEAR_MISSES) {
    const r = redactSecrets(line);
    assert.equal(r.text, line, `changed a near miss (${r.found.join(',')}): ${line}`);
  }
});

test('redaction is idempotent and reaches nested fields', () => {
  const once = redactSecrets(SECRETS[0][1]).text;
  assert.equal(redactSecrets(once).text, once);
  const { value, found } = redactDeep({ a: [`x ${K('AKIA', 'IOSFODNN7EXAMPLE')}`], b: { c: 3, d: 'ok' } });
  assert.deepEqual(value, { a: ['x [REDACTED:aws-access-key]'], b: { c: 3, d: 'ok' } });
  assert.deepEqual(found, ['aws-access-key']);
});
