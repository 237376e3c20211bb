/** Types for ca-path.js (plain CommonJS so it can run before any TypeScript tooling). */
export interface CaPaths {
	caCertPath: string;
	caKeyPath: string;
}
export declare function ensureCa(dir?: string): CaPaths;
export declare function defaultCaDir(): string;
export declare function openssl(args: string[], cwd?: string): Buffer;
