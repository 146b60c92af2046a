# syntax=docker/dockerfile:1
# The dittofs-hooks server image. Build: docker build -t ghcr.io/dittofs/dittofs-hooks:0.1.0 .
#
# Node 24 LTS. Keep NODE_VERSION equal to the Node 24 CI runs the whole suite on (scripts/get-node.sh pins it;
# a test checks they match). Contributors may still build and test on Node 20.
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, dev ones included: the TypeScript compiler is one.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY hooks ./hooks
# tsconfig.image.json compiles hooks/ only (no tests, benchmarks or scripts); then drop dev dependencies.
RUN npx tsc -p tsconfig.image.json \
    && npm prune --omit=dev --no-audit --no-fund \
    && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
# Stack traces point at the TypeScript sources' lines.
ENV NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Owned by root and read-only for the server's user: the running process cannot change its own code.
# package.json is needed at run time: its "type": "module" makes dist/**/*.js ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric on purpose: the 'node' user is uid 1000 in the official images, and a numeric USER lets the kubelet
# verify runAsNonRoot.
USER 1000
EXPOSE 8080
# Exec form, node as PID 1 with no npm in between: the server handles SIGTERM itself (close-with-grace).
CMD ["node", "dist/hooks/server.js"]
