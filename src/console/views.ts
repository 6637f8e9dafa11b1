// What the console's JSON API answers, shared by the server (buckets.ts) and the page (ui/):
// types only, no imports, so that the page's type check (ui/tsconfig.json) can read this file.

export interface BucketView {
  name: string;
  owner: string;
  createdAt: string;
  bytes: number;
  objects: number;
  public: boolean;
  /** why it is public: "policy", "acl" or both */
  publicBy: string[];
  hasPolicy: boolean;
  versioning: string;
  accelerate: string;
  requestPayment: string;
  publicAccessBlock: boolean;
}

export interface RegionView {
  region: string;
  endpoint: string;
  usage: { org: string; bytes: number; objects: number; quota: number }[];
  buckets: BucketView[];
}
