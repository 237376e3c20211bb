import { tagOperation } from './tag';

export const { description, execute } = tagOperation('addTag');
