# Strata server image. better-sqlite3 compiles from source when no prebuilt binary matches,
# hence the build tools in the build stage.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY policies ./policies
ENV STRATA_HOST=0.0.0.0 \
    STRATA_PORT=9000 \
    STRATA_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 9000 9001
# /health/ready: databases open, data directory writable, not shutting down (see the README, "Health checks").
HEALTHCHECK --interval=5s --timeout=3s --retries=20 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.STRATA_PORT || 9000) + '/health/ready').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["./bin/strata"]
CMD ["serve"]
