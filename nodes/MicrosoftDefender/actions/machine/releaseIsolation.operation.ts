import { responseAction } from './responseAction';

export const { description, execute } = responseAction({
	operation: 'releaseIsolation',
	type: 'Unisolate',
	endpoint: 'unisolate',
	undoes: { type: 'Isolate', label: 'Isolation' },
});
