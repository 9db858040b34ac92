"use client";
// A field's own error, shown right under it and tied to it with aria-describedby (pass the same id).
import "./forms.css";

export function FieldError({ id, text }: { id: string; text: string | null | undefined }) {
  if (!text) return null;
  return <span id={id} className="field-error" role="alert">{text}</span>;
}
