// The seed's kubectl walkthrough: its manifest, and its tables as the seed prints them.

// The seed's object-storage-crd.yaml, verbatim.
export const seedManifest = `apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: my-example
  namespace: my-namespace
spec:
  owner: my-namespace
  access: full # Possible options are: full, readwrite, read, or write
  secretName: my-example-secret
`;

/** Whitespace runs as one space, blank lines dropped: how the seed prints kubectl's tables. */
export function collapse(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .filter(Boolean)
    .join('\n');
}
