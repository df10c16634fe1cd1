# One image for every mlwatch role; the command picks it (docker-compose.yml):
#   serve (inference, /mcp, approvals, the alert webhook), agent, chat, approve, train, …
# and `mcp --http` for a standalone MCP endpoint.
FROM node:20.19.5-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    MLWATCH_DATA_DIR=/data \
    MLWATCH_HOST=0.0.0.0 \
    MLWATCH_PORT=8080

COPY package.json package-lock.json ./
# The image's npm predates package.json's allowScripts, so onnxruntime-node's optional CUDA download
# is turned off by its own variable (the CPU provider ships in the package).
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
RUN mkdir -p /data && chown node:node /data && ln -s /app/bin/mlwatch.js /usr/local/bin/mlwatch
USER node
VOLUME ["/data"]
EXPOSE 8080

ENTRYPOINT ["node", "bin/mlwatch.js"]
CMD ["serve"]
