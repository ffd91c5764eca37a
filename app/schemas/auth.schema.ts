import { z } from 'zod';
import { customerTypes } from './shop-settings.schema.js';
import { emailField, requiredText, text } from './form.js';

// Login fields are only bounded here: whether they match is for the authenticator to say.
export const loginSchema = z.object({
  email: z
    .string({ error: 'E-mail is required.' })
    .trim()
    .min(1, 'E-mail is required.')
    .max(254, 'E-mail must be at most 254 characters.')
    // PostgreSQL text cannot hold NUL: looking it up would fail with a 500.
    .refine((value) => !value.includes('\u0000'), 'Enter a valid e-mail address, like name@example.com.'),
  password: z.string({ error: 'Password is required.' }).min(1, 'Password is required.').max(4096, 'Password is too long.'),
});

export const registrationSchema = z.object({
  email: emailField,
  password: z.string({ error: 'Password is required.' }).min(1, 'Password is required.').max(4096, 'Password is too long.'),
  confirmPassword: z.string({ error: 'Please repeat the password.' }),
  firstname: requiredText('First name', 100),
  lastname: requiredText('Last name', 100),
  customertype: z.enum(customerTypes, { error: 'Choose a customer type.' }).default('B2C'),
  companyname1: text('Company', 200).optional(),
  phone: text('Phone', 40)
    .regex(/^[0-9 +()./-]*$/, 'Phone may contain digits, spaces and + ( ) . / - only.')
    .optional(),
});

export type RegistrationInput = z.infer<typeof registrationSchema>;
