// The pinned source list of the starter corpus (`npm run starter:corpus`): npm packages at exact
// versions and Debian 12 (bookworm) python3-* packages at exact versions, plus the CPython standard
// library found on this machine. Licenses are not trusted from this list: corpus.ts reads them from
// each package (package.json, debian/copyright) and drops anything not permissive.
// Changing this list changes the corpus; regenerate scripts/starter/corpus-manifest.jsonl.gz with it.

/** npm packages as `name@exactVersion`; chosen for hand-written TS/JS (many ship src/**\/*.ts). */
export const NPM_SOURCES: readonly string[] = [
  // TypeScript libraries that ship their sources
  'zod@4.6.7', 'rxjs@7.8.2', 'effect@4.1.0', 'fp-ts@2.16.11', 'io-ts@2.2.22', 'immer@11.2.13', 'mobx@7.1.3',
  'redux@5.0.1', '@reduxjs/toolkit@2.15.0', '@trpc/server@11.25.2', '@tanstack/query-core@5.108.4',
  'ts-pattern@5.9.2', 'neverthrow@8.2.0', 'superstruct@2.0.2', 'ajv@8.20.0', 'vscode-uri@3.2.0',
  'jsonc-parser@3.3.1', 'vscode-languageserver-types@3.18.5', 'vscode-languageserver@11.0.0',
  'vscode-jsonrpc@10.0.0', 'inversify@8.2.3', 'class-transformer@0.5.1', 'class-validator@0.15.1',
  'reflect-metadata@0.2.2', 'mongodb@7.9.1', 'puppeteer-core@25.16.0', 'hono@4.13.19', 'kysely@0.29.9',
  'drizzle-orm@0.45.4', 'xstate@5.33.3', 'immutable@5.2.1', 'graphql@17.1.0', 'magic-string@1.4.5',
  'ml-matrix@6.15.1', 'simple-statistics@7.12.1',
  // Hand-written declaration files (capped per package by the .d.ts share rule)
  'typescript@5.9.3', 'type-fest@6.0.3', 'ts-essentials@10.2.1', 'utility-types@3.11.0', 'tslib@2.9.1',
  '@types/node@26.6.11', '@types/react@19.3.3', '@types/express@5.0.6', '@types/lodash@4.17.27',
  '@types/jest@30.0.0', '@types/mocha@10.0.10', '@types/vscode@1.140.0', '@types/estree@1.0.11',
  // Hand-written JavaScript: utilities
  'lodash@4.18.1', 'underscore@1.13.8', 'ramda@0.32.0', 'async@3.2.6', 'eventemitter3@5.0.4', 'mitt@3.0.1',
  'nanoid@6.0.2', 'uuid@14.0.3', 'ms@2.1.3', 'debug@4.4.3', 'chalk@6.0.1', 'kleur@4.1.5', 'picocolors@1.1.1',
  'commander@15.1.0', 'yargs@18.2.0', 'yargs-parser@22.0.0', 'minimist@1.2.8', 'semver@7.8.6',
  'minimatch@11.0.9', 'micromatch@4.0.8', 'picomatch@4.0.7', 'braces@3.0.3', 'chokidar@6.0.0',
  'graceful-fs@4.2.12', 'fs-extra@11.4.1', 'jszip@3.10.2', 'pako@3.0.3', 'js-yaml@5.5.0', 'yaml@2.9.1',
  'ini@7.0.0', 'dotenv@18.0.10', 'json5@2.2.3', 'argparse@3.0.4', 'core-js@3.51.0', 'source-map@0.8.0',
  'estree-walker@3.0.3', 'luxon@3.7.2', 'dayjs@1.11.23', 'moment@2.31.0', 'date-fns@4.4.0',
  // Web servers, HTTP, networking
  'express@5.3.0', 'body-parser@2.4.0', 'koa@3.3.0', '@koa/router@15.7.0', 'fastify@5.12.8', 'connect@3.7.0',
  'morgan@1.12.1', 'cors@2.8.6', 'helmet@8.3.0', 'http-proxy@1.18.1', 'ws@8.23.0', 'socket.io@4.8.4',
  'engine.io@6.6.13', 'axios@1.21.1', 'node-fetch@3.3.2', 'undici@8.13.1', 'superagent@10.4.2',
  'form-data@4.0.6', 'qs@6.17.1', 'cookie@2.0.2', 'send@1.2.1', 'serve-static@2.2.1', 'mime@4.1.2',
  'mime-types@3.0.2', 'negotiator@1.1.0', 'accepts@2.0.0', 'path-to-regexp@9.0.0', 'finalhandler@2.1.1',
  'jsonwebtoken@9.0.3', 'passport@0.7.0', 'bcryptjs@3.0.3', 'nodemailer@10.6.1',
  // Databases, queues, logging
  'sequelize@6.37.8', 'mongoose@9.12.1', 'pg@8.23.1', 'mysql@2.18.1', 'knex@3.3.0', 'kafkajs@2.2.4',
  'amqplib@2.3.1', 'winston@3.19.0', 'pino@10.4.0',
  // Parsers, compilers, linters, build tools
  'eslint@10.15.0', 'eslint-plugin-react@7.37.5', 'eslint-plugin-import@2.32.0',
  'eslint-plugin-unicorn@80.0.0', 'espree@11.2.0', 'esquery@1.7.0', 'estraverse@5.3.0', 'escodegen@2.1.0',
  'acorn@8.19.0', 'acorn-walk@8.3.5', 'esprima@4.0.1', 'recast@0.24.0', 'jscodeshift@17.4.0',
  'webpack@5.113.0', 'tapable@2.3.4', 'enhanced-resolve@5.27.0', 'browserslist@4.29.6', 'postcss@8.5.34',
  'autoprefixer@10.7.0', 'postcss-selector-parser@7.2.1', 'css-tree@3.2.1', 'svgo@4.1.0', 'less@4.9.1',
  'stylus@0.64.0', 'terser@5.51.4', 'uglify-js@3.19.3', 'clean-css@5.3.3', 'marked@18.2.1',
  'markdown-it@15.0.3', 'micromark@4.0.3', 'highlight.js@11.12.0', 'prismjs@1.30.0', 'handlebars@4.7.10',
  'mustache@4.2.0', 'ejs@7.0.2', 'pug@3.0.4', 'nunjucks@3.2.4', 'htmlparser2@12.0.0', 'jsdom@31.0.1',
  // Testing
  'mocha@12.0.3', 'chai@6.3.0', 'sinon@22.1.0',
  // UI, graphics, maths
  'preact@11.2.0', 'svelte@5.57.3', 'lit-html@3.3.3', '@lit/reactive-element@2.1.2', 'redux-saga@1.5.1',
  'three@0.187.0', 'leaflet@1.9.4', 'ol@10.11.0', 'phaser@4.2.1', 'matter-js@0.20.0', 'd3-array@3.2.5',
  'd3-scale@4.0.3', 'd3-shape@3.2.1', 'd3-selection@3.0.1', 'd3-geo@3.1.2', 'd3-force@3.0.1',
  'd3-hierarchy@3.1.3', 'd3-interpolate@3.0.2', 'd3-color@3.1.1', 'd3-format@3.1.3', 'd3-time@3.1.1',
  'd3-time-format@4.1.1', 'd3-path@3.1.1', 'd3-zoom@3.0.1', 'd3-transition@3.0.2', 'd3-dsv@3.0.2',
  'd3-delaunay@6.0.6', 'node-forge@1.4.3', 'crypto-js@4.2.0', 'bn.js@5.2.5', 'elliptic@6.6.1',
  'bignumber.js@11.1.5', 'decimal.js@10.6.0', 'big.js@7.0.1', 'mathjs@15.2.0', 'fraction.js@5.3.4',
];

/** Debian 12 packages as [name, exact version]; `apt-get download name=version` fetches them. */
export const DEB_SOURCES: readonly (readonly [name: string, version: string])[] = [
  ['python3-requests', '2.28.1+dfsg-1'],
  ['python3-urllib3', '1.26.12-1+deb12u4'],
  ['python3-idna', '3.3-1+deb12u1'],
  ['python3-certifi', '2022.9.24-1'],
  ['python3-jinja2', '3.1.2-1+deb12u3'],
  ['python3-markupsafe', '2.1.2-1+b1'],
  ['python3-click', '8.1.3-2'],
  ['python3-attr', '22.2.0-1'],
  ['python3-six', '1.16.0-4'],
  ['python3-yaml', '6.0-3+b2'],
  ['python3-pygments', '2.14.0+dfsg-1'],
  ['python3-packaging', '23.0-1'],
  ['python3-dateutil', '2.8.2-2'],
  ['python3-setuptools', '66.1.1-1+deb12u2'],
  ['python3-werkzeug', '2.2.2-3+deb12u1'],
  ['python3-flask', '2.2.2-3'],
  ['python3-numpy', '1:1.24.2-1+deb12u1'],
  ['python3-docutils', '0.19+dfsg-6'],
  ['python3-sqlalchemy', '1.4.46+ds1-1'],
  ['python3-networkx', '2.8.8-1'],
  ['python3-sympy', '1.11.1-1'],
  ['python3-mpmath', '1.2.1-2'],
  ['python3-pandas', '1.5.3+dfsg-2'],
  ['python3-scipy', '1.10.1-2'],
  ['python3-sklearn', '1.2.1+dfsg-1'],
  ['python3-statsmodels', '0.13.5+dfsg-7'],
  ['python3-matplotlib', '3.6.3-1+b1'],
  ['python3-astropy', '5.2.1-2+deb12u1'],
  ['python3-dask', '2022.12.1+dfsg-2'],
  ['python3-django', '3:3.2.25-0+deb12u7'],
  ['python3-twisted', '22.4.0-4+deb12u1'],
  ['python3-tornado', '6.2.0-3+deb12u4'],
  ['python3-sphinx', '5.3.0-4'],
  ['python3-pytest', '7.2.1-2'],
  ['python3-mypy', '1.0.1-1'],
  ['python3-ipython', '8.5.0-4'],
  ['python3-pyparsing', '3.0.9-1'],
  ['python3-nltk', '3.8-1'],
  ['python3-hypothesis', '6.67.1-1'],
  ['python3-astroid', '2.14.2-1'],
];

/** The CPython standard library read from this machine (Debian's libpython3.11-stdlib). */
export const PYTHON_STDLIB = { dir: '/usr/lib/python3.11', debPackage: 'libpython3.11-stdlib', license: 'PSF-2.0' } as const;
