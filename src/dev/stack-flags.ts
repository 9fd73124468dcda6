import { parseArgs } from 'node:util';

// The dev launcher's command-line flags, checked before anything starts.

export const STACK_USAGE = `Usage: ./scripts/dev.sh [--dashboard-hot] [--temporal=dev|postgres]
  --dashboard-hot       also run Vite's dev server (hot reload) for the dashboard on http://127.0.0.1:5173/dashboard/
  --temporal=dev        Temporal's dev server: one process on SQLite (.data/temporal.db), the default
  --temporal=postgres   the production Temporal server on Postgres (databases temporal and temporal_visibility
                        beside EventFlow's), with the Temporal Web UI server
`;

export const TEMPORAL_MODES = ['dev', 'postgres'] as const;
export type TemporalMode = (typeof TEMPORAL_MODES)[number];

export interface StackFlags {
  dashboardHot: boolean;
  temporal: TemporalMode;
}

/** The flags, or what is wrong with them (for a usage message and exit code 2). */
export function parseStackFlags(args: string[]): { flags: StackFlags } | { error: string } {
  try {
    const { values } = parseArgs({
      args,
      options: { 'dashboard-hot': { type: 'boolean', default: false }, temporal: { type: 'string', default: 'dev' } },
      strict: true,
      allowPositionals: false,
    });
    const temporal = values.temporal as TemporalMode;
    if (!TEMPORAL_MODES.includes(temporal)) return { error: `--temporal must be one of ${TEMPORAL_MODES.join(', ')}, not '${values.temporal}'` };
    return { flags: { dashboardHot: values['dashboard-hot'], temporal } };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
