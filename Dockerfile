# One image for the API, the worker and the one-shot migration (docker-compose.yml picks the command).
# Node 24 runs the TypeScript sources directly, so there is no build step. Same Node as scripts/bootstrap.sh.
FROM node:24.21.0-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY migrations ./migrations
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
# The namespace definition (search attributes, retention) is read at run time; the rest of temporal/ is
# for building tools and the dev server.
COPY temporal/namespace.ts ./temporal/

USER node
EXPOSE 3000 9464
# The telemetry preload must run before the application loads http, koa and pg.
CMD ["node", "--import", "./src/telemetry/instrumentation.ts", "src/api/main.ts"]
