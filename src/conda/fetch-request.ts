// The download step's request for a package of a private channel (`conda-frontend fetch`): the
// frontend writes it, the step (build-step/fetch.ts) reads it.

export interface FetchRequest {
  url: string;
  filename: string;
  sha256?: string;
  md5?: string;
  out: string;
}
