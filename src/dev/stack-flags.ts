import { parseArgs } from 'node:util';

// The dev launcher's command-line flags, checked before anything starts.

export const STACK_USAGE = `Usage: ./scripts/dev.sh [--dashboard-hot]
  --dashboard-hot   also run Vite's dev server (hot reload) for the dashboard on http://127.0.0.1:5173/dashboard/
`;

export interface StackFlags {
  dashboardHot: boolean;
}

/** The flags, or what is wrong with them (for a usage message and exit code 2). */
export function parseStackFlags(args: string[]): { flags: StackFlags } | { error: string } {
  try {
    const { values } = parseArgs({ args, options: { 'dashboard-hot': { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    return { flags: { dashboardHot: values['dashboard-hot'] } };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
