// Kept equal to package.json's "version" by the test suite (test/unit.test.ts).
/** This package's version. */
export const VERSION = '0.1.0';
