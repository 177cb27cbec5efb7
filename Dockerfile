# One image for every Settle process (the command picks it: dist/api/server.js,
# dist/workers/{payment,card,webhook}-worker.js, dist/api/codec-server-main.js, dist/db/migrate.js).
# Node 24 LTS is the target (22 still works: package.json engines).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci`: exactly the lock file, never a rewrite of it, and it fails when package.json and the lock
# disagree. The lock carries every platform's optional native packages (esbuild, swc, embedded
# PostgreSQL), so this installs on linux/amd64 and linux/arm64 alike (docs/deploy.md: how this
# install was checked without a Docker engine).
RUN npm ci --no-audit --no-fund
COPY . .
# Compile, then bundle the workflow code once (dist/workflow-bundle.js, loaded by the payment and
# webhook workers instead of bundling at start: workers/workflow-code.ts), then drop dev packages.
RUN npm run build \
  && npm run bundle:workflows \
  && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# The workers' Worker Deployment build id (workers/versioning.ts): pass `--build-arg
# SETTLE_BUILD_ID=<package version>+<git sha>` so every replica of this image reports one version.
ARG SETTLE_BUILD_ID
ENV NODE_ENV=production
ENV SETTLE_BUILD_ID=${SETTLE_BUILD_ID}
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY db/migrations ./dist/db/migrations
# Non-root (the image's `node` user, uid 1000) and nothing to write: compose and Kubernetes mount the
# root filesystem read-only with a tmpfs on /tmp (the only writable path the processes use).
USER 1000:1000
EXPOSE 3000 8888
CMD ["node", "dist/api/server.js"]
