import { MAX_PASSWORD_BYTES, isPasswordTooLong } from '../auth/password.js';
import type { ShopSettings } from '../schemas/shop-settings.schema.js';

/** The shop's password rule (F-SHOP-4); returns the message to show, or null when the password is fine. */
export function passwordRuleViolation(password: string, settings: Pick<ShopSettings, 'passwordMinLength' | 'passwordRegex' | 'passwordRegexMessage'>): string | null {
  if (isPasswordTooLong(password)) return `Password must be at most ${MAX_PASSWORD_BYTES} bytes.`;
  if ([...password].length < settings.passwordMinLength) return `Password must be at least ${settings.passwordMinLength} characters.`;
  if (settings.passwordRegex && !new RegExp(settings.passwordRegex, 'u').test(password)) {
    return settings.passwordRegexMessage || 'Password does not meet this shop’s rules.';
  }
  return null;
}
