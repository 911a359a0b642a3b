# OTPKI Sign-in as a container: docker build -t otpki . ; see docs/deployment.md.
# Build stage: the dependencies (better-sqlite3 is compiled when no prebuilt binary fits) and the build.
FROM node:22-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

# Run stage: what `otpki start` needs, as the unprivileged node user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    OTPKI_HOST=0.0.0.0 \
    OTPKI_PORT=3000 \
    OTPKI_DATABASE=/var/lib/otpki/otpki.sqlite \
    OTPKI_PROVIDERS_DIR=/etc/otpki/providers
WORKDIR /opt/otpki
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/templates ./templates
COPY --from=build /src/plugins ./plugins
COPY --from=build /src/schema ./schema
COPY --from=build /src/index.ts ./index.ts
RUN mkdir -p /var/lib/otpki /etc/otpki/providers && chown node:node /var/lib/otpki \
    && ln -s /opt/otpki/bin/otpki.js /usr/local/bin/otpki
USER node
VOLUME ["/var/lib/otpki"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.OTPKI_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["otpki", "start"]
