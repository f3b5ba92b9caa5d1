# Skipper: one process, the journal in a volume, running as the unprivileged user `node`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY training ./training
COPY migrations ./migrations
COPY bin ./bin
COPY deploy/prune-image.sh ./deploy/prune-image.sh
# `npm ci` compiles dist/ (prepare); then the dev dependencies and files never loaded at run time go.
RUN npm ci && npm prune --omit=dev && sh deploy/prune-image.sh /app && rm -rf deploy /root/.npm

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
COPY models ./models
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
VOLUME ["/app/data"]
# Healthy = the journal's heartbeat is fresh, the bot's process is alive and its trading loop is
# making progress (set SKIPPER_CONFIG when the config moves the journal).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "bin/skipper.js", "health", "--check"]
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/skipper.js"]
CMD ["run"]
