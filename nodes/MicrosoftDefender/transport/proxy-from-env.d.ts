declare module 'proxy-from-env' {
	/**
	 * The proxy URL that applies to `url` under `npm_config_<scheme>_proxy`, `<scheme>_proxy`, `npm_config_proxy`,
	 * `all_proxy` and `no_proxy` (each lower case first, then upper case), read from `process.env` at call time;
	 * '' when the URL goes direct.
	 */
	export function getProxyForUrl(url: string | object): string;
}
