import { z } from 'zod';
import { emailField } from './form.js';

// F-LIFE-2 storefront forms. Whether the password meets the shop's rule is for the service to say.

export const acceptInvitationSchema = z.object({
  password: z.string({ error: 'Password is required.' }).min(1, 'Password is required.').max(4096, 'Password is too long.'),
  confirmPassword: z.string({ error: 'Please repeat the password.' }).max(4096, 'Password is too long.'),
});

export const requestInvitationSchema = z.object({
  email: emailField,
});

export type AcceptInvitationInput = z.infer<typeof acceptInvitationSchema>;
