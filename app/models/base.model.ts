import { Model } from 'objection';

export class BaseModel extends Model {
  static override useLimitInFirst = true;
}
