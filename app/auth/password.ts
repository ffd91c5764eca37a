import { hash, parseOptions, verify, type Options } from '@node-rs/argon2';

/** Longer input is refused before hashing so a huge body cannot tie up the CPU. */
export const MAX_PASSWORD_BYTES = 1024;

const ARGON2ID = 2; // Algorithm.Argon2id; a const enum that isolated modules cannot import

export const PASSWORD_POLICY: Readonly<Required<Pick<Options, 'memoryCost' | 'timeCost' | 'parallelism'>>> = {
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export function isPasswordTooLong(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFC'), { ...PASSWORD_POLICY, algorithm: ARGON2ID as Options['algorithm'] });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (isPasswordTooLong(password)) return false;
  try {
    return await verify(passwordHash, password.normalize('NFC'));
  } catch {
    return false;
  }
}

/** True when the stored hash was made with weaker parameters than today's policy. */
export function needsRehash(passwordHash: string): boolean {
  try {
    const used = parseOptions(passwordHash);
    return (
      used.algorithm !== (ARGON2ID as Options['algorithm']) ||
      used.memoryCost < PASSWORD_POLICY.memoryCost ||
      used.timeCost < PASSWORD_POLICY.timeCost ||
      used.parallelism < PASSWORD_POLICY.parallelism
    );
  } catch {
    return true;
  }
}

/** A hash to verify against when the account does not exist, so timing does not reveal it. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword('decoy-password-that-matches-nothing');
  return decoyHash;
}
