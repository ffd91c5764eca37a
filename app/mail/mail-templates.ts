import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

const MAIL_VIEWS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views/mail');
// No trimming: in plain-text mail every line break the template has is meant. Only the HTML
// version escapes; in the text version `&lt;` would be shown to the reader literally.
const html = new Eta({ views: MAIL_VIEWS, autoEscape: true, autoTrim: false, cache: true });
const text = new Eta({ views: MAIL_VIEWS, autoEscape: false, autoTrim: false, cache: true });

export type MailTemplate = 'welcome' | 'registration-pending' | 'credit-adjusted' | 'assignment-disabled' | 'assignment-activated' | 'invitation';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Each template is a pair `NAME.text.eta` / `NAME.html.eta`; the first line of the text version is
 * `Subject: …`, so subject and body are written and reviewed together.
 */
export function renderMail(template: MailTemplate, data: Record<string, unknown>): RenderedMail {
  const textWithSubject = text.render(`./${template}.text.eta`, data);
  const [firstLine = '', ...rest] = textWithSubject.split('\n');
  if (!firstLine.startsWith('Subject: ')) throw new Error(`views/mail/${template}.text.eta must start with "Subject: "`);
  return {
    subject: firstLine.slice('Subject: '.length).trim(),
    text: rest.join('\n').trim() + '\n',
    html: html.render(`./${template}.html.eta`, data),
  };
}
