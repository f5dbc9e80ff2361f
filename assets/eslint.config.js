// ESLint for the front end (`npm run lint`, part of `make ci`): JavaScript's recommended
// rules, React's (with the automatic JSX runtime), and the Rules of Hooks, whose
// exhaustive-deps warnings fail the run through `--max-warnings 0`.
import js from '@eslint/js'
import react from 'eslint-plugin-react'
import reactHooks from 'eslint-plugin-react-hooks'
import { defineConfig } from 'eslint/config'
import globals from 'globals'

export default defineConfig([
  {
    files: ['src/**/*.{js,jsx}'],
    extends: [
      js.configs.recommended,
      react.configs.flat.recommended,
      react.configs.flat['jsx-runtime'],
      reactHooks.configs.flat.recommended,
    ],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: globals.browser,
    },
    settings: { react: { version: 'detect' } },
    rules: {
      // Props come from the server's page object, not from other components: PropTypes
      // would restate the JSON that the Rust handlers build, and check nothing those
      // handlers' tests do not already.
      'react/prop-types': 'off',
    },
  },
])
