# The conda-frontend image: a bundled Node program on a distroless Node 24 runtime.
# Every base image is a build arg, so the image builds offline from local images:
#   docker buildx build -f frontend.Dockerfile \
#     --build-arg BUILDER_IMAGE=localhost:5000/node:24-builder \
#     --build-arg RUNTIME_IMAGE=localhost:5000/distroless/nodejs24-debian12 -t ... .
ARG BUILDER_IMAGE=docker.io/library/node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Exec form throughout: the build stage needs node and npm, not a shell.
# Behind a TLS-intercepting proxy, pass its CA bundle as the optional secret `ca-certificates`
# (--secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt); it never reaches a layer.
ENV NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates
RUN --mount=type=cache,target=/root/.npm,id=conda-frontend-npm \
    --mount=type=secret,id=ca-certificates,required=false \
    ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/bundle.mjs
COPY proto proto
COPY src src
RUN ["node", "scripts/bundle.mjs"]

FROM ${RUNTIME_IMAGE}
COPY --from=build /src/dist/cli.cjs /src/dist/js_rattler_bg.wasm /frontend/dist/
# A frontend process starts for every build, and one per build step that runs our tools: a V8
# startup snapshot of the loaded bundle (built here, by the node that will run it) saves loading,
# compiling and initialising it each time (~40 ms of every start; docs/benchmarks.md).
RUN ["/nodejs/bin/node", "--snapshot-blob", "/frontend/startup.blob", "--build-snapshot", "/frontend/dist/cli.cjs"]
# The frontend process itself needs no network (its build steps get what they ask for).
# The caps BuildKit's gateway checks a client's asks against (buildx asks for subrequests on
# --call/--check and for contexts on --build-context): the same three Docker's Dockerfile frontend claims.
LABEL moby.buildkit.frontend.network.none="true" \
      moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts" \
      org.opencontainers.image.title="conda-frontend" \
      org.opencontainers.image.description="BuildKit frontend: conda environment.yml -> slim distroless image"
WORKDIR /frontend
ENTRYPOINT ["/nodejs/bin/node", "--snapshot-blob", "/frontend/startup.blob"]
