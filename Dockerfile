# syntax=docker/dockerfile:1
# The API as a container: built in one stage with the dev dependencies, run in another with the
# production ones only, as an unprivileged user. `docker compose up` (compose.yaml) starts it with
# PostgreSQL; docs/operations.md has the details.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY .swcrc tsconfig.json ./
COPY src ./src
COPY console ./console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=4000 \
    LOG_FORMAT=json \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node drizzle ./drizzle
COPY --chown=node:node schema ./schema
COPY --chown=node:node docs ./docs
COPY --chown=node:node README.md ./
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
# Ready: the database answers and every migration is applied (GET /readyz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
