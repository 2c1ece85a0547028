// CSV as spreadsheets write it (RFC 4180): fields separated by commas, records by CRLF or LF, a
// field in double quotes may hold commas, line breaks and doubled quotes. Pure, no dependencies.

/** The records of a CSV text; throws a RangeError naming the record of an unclosed quote. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endField = () => {
    record.push(field);
    field = "";
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") {
      quoted = true;
      i++;
    } else if (ch === ",") {
      endField();
      i++;
    } else if (ch === "\r" && text[i + 1] === "\n") {
      endRecord();
      i += 2;
    } else if (ch === "\n" || ch === "\r") {
      endRecord();
      i++;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new RangeError(`record ${records.length + 1} has a quote that is never closed`);
  if (field !== "" || record.length > 0) endRecord();
  // Blank lines (a lone empty field) are no records.
  return records.filter((r) => !(r.length === 1 && r[0].trim() === ""));
}
