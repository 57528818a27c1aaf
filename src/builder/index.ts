export { Builder, BuildError, type BuildContainers, type BuildOutput, type BuildRequest, type BuilderOptions } from './builder.js';
export { unpackContext, readContextDockerfile, applyDockerignore, type BuildContext } from './context.js';
export { DockerfileParseError } from './dockerfile/index.js';
