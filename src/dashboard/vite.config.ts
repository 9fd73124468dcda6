import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by the API under /dashboard/ (src/api/routes/dashboard.ts). In hot-reload mode
// (`./scripts/dev.sh --dashboard-hot`) Vite serves it instead and forwards API calls to the running API.
const apiUrl = process.env.EVENTFLOW_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/dashboard/',
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The build report (dist/.vite/manifest.json) is what benchmarks/dashboard-budget.ts sizes.
    manifest: true,
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: { '/v1': apiUrl, '/graphql': apiUrl },
  },
});
