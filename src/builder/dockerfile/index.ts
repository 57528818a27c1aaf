export { parseDockerfile, DockerfileParseError, KNOWN_INSTRUCTIONS, type Heredoc, type Node, type ParsedDockerfile } from './parser.js';
export { expandWord, expandWordUsing, envLookup, splitWords, type Lookup } from './expand.js';
export * from './instructions.js';
