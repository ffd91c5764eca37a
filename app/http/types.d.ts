import type { Eta } from 'eta';
import type { ShopContext } from '../services/shop.service.js';
import type { StaffPrincipal } from '../services/staff.service.js';
import type { PreloadedStaff } from './middleware/staff-session-store.js';
import type { FlashKind } from './render.js';

export interface CustomerPrincipal {
  kind: 'customer';
  id: number;
  shopId: number;
  email: string;
  firstName: string;
  lastName: string;
  customerType: string;
  taxExempt: boolean;
}

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
    createdAt?: number;
    lastSeenAt?: number;
    flash?: Array<{ kind: FlashKind; text: string }>;
  }
}

declare global {
  namespace Express {
    /** What passport keeps in the session; the principals below are loaded from it per request. */
    interface User {
      kind: 'staff' | 'customer';
      id: number;
    }
    interface Request {
      shop?: ShopContext;
      staff?: StaffPrincipal;
      customer?: CustomerPrincipal;
      /** The staff member read with the session (PostgreSQL sessions of the admin area). */
      preloadedStaff?: PreloadedStaff;
    }
    interface Locals {
      csrfToken?: string;
      shop?: ShopContext;
      requestId?: string;
    }
    interface Application {
      locals: { views: Eta } & Record<string, unknown>;
    }
  }
}
