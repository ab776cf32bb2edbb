// Types of chromium.cjs (the one place that says how gradlens starts Chromium), for the TypeScript tests.
import type { BrowserContext } from 'playwright-core';

/** What chromiumArgs and launchChromium take. */
export interface ChromiumOptions {
  /** the browser to start (default CHROMIUM) */
  executablePath?: string;
  /** add --enable-unsafe-webgpu */
  webgpu?: boolean;
  /** a visible window instead of --headless */
  headed?: boolean;
  /** false adds --disable-gpu */
  gpu?: boolean;
  viewport?: { width: number; height: number };
}

/** The browser gradlens drives: GRADLENS_CHROMIUM, else Debian's /usr/bin/chromium. */
export declare const CHROMIUM: string;
/** Whether a browser is at `executablePath` (default CHROMIUM). */
export declare function haveChromium(executablePath?: string): boolean;
/** The one-line reason `what` cannot run without a browser, and how to get one. */
export declare function missingChromium(what: string, executablePath?: string): string;
/** Chromium's command-line flags for these options. */
export declare function chromiumArgs(options?: ChromiumOptions): string[];
/** Starts the browser on a fresh profile; `close()` also deletes the profile. Throws one line without a browser. */
export declare function launchChromium(options?: ChromiumOptions): Promise<{ context: BrowserContext; close(): Promise<void> }>;
