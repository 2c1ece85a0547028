// Hostile input, seeded: thousands of invalid requests to every mutation (and odd arguments to the
// queries), through variables and through inline literals. Whatever arrives, the server answers
// with a client error that has a code, shows no stack trace or SQL, and writes nothing.
// Reproduce a run with FUZZ_SEED=<seed>; FUZZ_REQUESTS sets the number of mutation requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { buildWorld, ghostId, snapshot, type World } from "./support/world.js";
import { generator, type Random } from "./support/random.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20270301);
const MUTATION_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);
const QUERY_REQUESTS = Math.round(MUTATION_REQUESTS / 3);

// ------------------------------------------------------------------ values

/** A token written as is, into the GraphQL text or the JSON body: numbers JSON cannot carry, names that are not values. */
class Raw {
  constructor(readonly text: string) {}
}
/** An enum value: a bare name inline, a string in variables. */
class Enum {
  constructor(readonly name: string) {}
}
/** { a: { a: ... "bottom" } }, written out without recursion. */
class Deep {
  constructor(readonly depth: number) {}
  graphql(): string {
    return `${"{a: ".repeat(this.depth)}"bottom"${"}".repeat(this.depth)}`;
  }
  json(): string {
    return `${'{"a": '.repeat(this.depth)}"bottom"${"}".repeat(this.depth)}`;
  }
}
type Value = unknown;

const deep = (depth: number): Value => new Deep(depth);
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const BIG = "x".repeat(100_000); // 100 KB
const BIG_CJK = "算力券".repeat(11_000); // about 100 KB of UTF-8
const BIG_DIGITS = "9".repeat(100_000);
const EMOJI = "🚀💰🔥";
const RTL = "\u202eWuhu\u202c";
const NUL = "a\u0000b";

/** Tokens no slot of any type accepts, in either encoding. */
const RAW = [
  "1e309",
  "-1e309",
  "1e400",
  "123456789012345678901234567890",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "undefined",
].map((t) => new Raw(t));

/** Values of the wrong GraphQL type. */
const WRONG: Record<string, Value[]> = {
  String: [0, -1, 1.5, 1e21, true, false, [], ["a"], {}, { a: "b" }, deep(40)],
  Int: ["1", "abc", "", 1.5, 2 ** 31, -(2 ** 31) - 1, 1e21, true, [], [1, 2], {}, deep(40)],
  ID: [1.5, true, [], ["1"], {}, { id: "1" }, deep(40)],
  Boolean: ["true", "false", 1, 0, "", [], [true], {}],
  DateTime: [0, 1_800_000_000_000, true, [], ["2027-04-01T00:00:00Z"], {}, deep(40)],
  Enum: ["", 1, true, [], {}, new Enum("sme"), new Enum("NOPE"), "nope"],
  List: [{}, deep(40), [[]], [{}], [1], [null], 7],
};

const TEXT_NOISE = [
  "Mofang 魔方 🚀",
  "\u202eevil\u202c RTL",
  "שלום עולם",
  "Z̤͔ͧ̑̓ä͖̭̈̇l͖͎g̞̥͈ͮ̕o̤̜ͩ",
  "' or 1=1 --",
  "<script>alert(1)</script>",
  "${7*7}",
  "%00%27",
];
const text = (max: number): Value[] => [
  "",
  "   ",
  "\u3000\t\n",
  "x".repeat(max + 1),
  BIG,
  BIG_CJK,
  NUL,
  `name${"\u0000"}`,
];
const MONEY: Value[] = [
  "NaN",
  "Infinity",
  "-Infinity",
  "1e3",
  "1E3",
  "0x10",
  "1.234",
  "1.",
  "+1",
  ".5",
  "-1",
  "-0.01",
  "0",
  "0.00",
  "0.001",
  " 1",
  "1 ",
  "1,000",
  "１０",
  "¥10",
  "10元",
  "1 000",
  "\u200f10",
  "\u202e10",
  "10\u0000",
  EMOJI,
  "",
  "   ",
  "99999999999999",
  "1e309",
  BIG_DIGITS,
  "12.5.0",
];
const ID_TEXT: Value[] = [
  "",
  " ",
  "abc",
  "0",
  "-1",
  "1.5",
  " 1",
  "1 ",
  "1e3",
  "0x10",
  "+1",
  "１",
  "1\u0000",
  "9".repeat(17),
  "9".repeat(30),
  BIG_DIGITS,
  "9007199254740993",
  EMOJI,
  `${RTL}1`,
  ghostId("offer"),
  ghostId("bid"),
  "offer_0",
  "offer_-1",
  "offer_1.5",
  "OFFER_1",
  "offer_ 1",
  `offer_${"9".repeat(17)}`,
  "nope_1",
  "_1",
  "offer_",
  "1",
  "42",
  -1,
  0,
  987654321,
  2 ** 31 - 1,
];
const HUB: Value[] = ["Atlantis", "wuhu", "WUHU", " Wuhu", "Wuhu ", "Wuhu\u0000", RTL, "Wu\u200bhu", "", EMOJI, BIG];
const GPU_MODEL: Value[] = ["h800", "H800 ", "H 800", "Atlantis GPU", "", "H800\u0000", EMOJI, BIG];
const DATE_BAD: Value[] = [
  "",
  "now",
  "2027-04-01",
  "2027-04-01T00:00:00",
  "2027-04-01 00:00:00Z",
  "2027-13-01T00:00:00Z",
  "2027-04-32T00:00:00Z",
  "2027-02-30T00:00:00Z",
  "2027-04-01T24:00:00Z",
  "2027-04-01T25:00:00Z",
  "1900-01-01T00:00:00Z",
  "1800-01-01T00:00:00Z",
  "9999-12-31T00:00:00Z",
  "+275760-09-13T00:00:00Z",
  "-000001-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "2027-04-01T00:00:00ZZ",
  "2027-04-01T00:00:00Z\u0000",
  "２０２７-04-01T00:00:00Z",
  EMOJI,
  BIG,
];
const NOT_WHOLE_HOUR: Value[] = [
  "2027-04-01T00:30:00Z",
  "2027-04-01T00:00:01Z",
  "2027-04-01T00:00:00.001Z",
  "2027-04-01T00:00:00+05:30",
];
const MONTH: Value[] = [
  "2027-13",
  "2027-00",
  "2027-1",
  "27-03",
  "2027-03-01",
  "2027/03",
  "",
  "   ",
  "2027–03",
  "２０２７-03",
  "2027-03\u0000",
  " 2027-03",
  EMOJI,
  BIG,
];
const KEY: Value[] = ["", " ", "has space", "x".repeat(201), BIG, "ключ", EMOJI, "k\u0000", "k\n", "\u202ek"];

// ------------------------------------------------------------------ what each mutation takes

type SlotType = keyof typeof WRONG;
interface Slot {
  path: string[];
  type: SlotType;
  required: boolean;
  /** Values this slot must refuse (besides those of the wrong type). */
  invalid: Value[];
  /** Unusual values the slot accepts: sent alongside an invalid slot. */
  noise?: Value[];
}
type Role = "sme" | "operator" | "finance" | "admin";
interface Spec {
  field: string;
  role: Role;
  /** Argument name -> GraphQL type, for the variable definitions. */
  args: Record<string, string>;
  base: Record<string, Value>;
  slots: Slot[];
  selection: string;
}

const slot = (path: string, type: SlotType, required: boolean, invalid: Value[], noise?: Value[]): Slot => ({
  path: path.split("."),
  type,
  required,
  invalid,
  noise,
});

function mutationSpecs(w: World): Spec[] {
  const window = { availableFrom: "2027-04-01T00:00:00Z", availableUntil: "2027-04-02T00:00:00Z" };
  return [
    {
      field: "createOrganization",
      role: "admin",
      args: { input: "CreateOrganizationInput!" },
      base: { input: { name: "Fuzz Org", kind: new Enum("SME"), city: "Wuhan" } },
      slots: [
        slot("input.name", "String", true, text(200), TEXT_NOISE),
        slot("input.kind", "Enum", true, [new Enum("ADMIN"), "ADMIN", new Enum("DATA_CENTER")]),
        slot("input.city", "String", false, ["x".repeat(101), BIG, NUL], TEXT_NOISE),
        slot("input.creditCode", "String", false, [
          "123",
          "x",
          EMOJI,
          BIG,
          "91310115MA1K4ABC1",
          "91310115MA1K4ABC1XX",
          "91310115MA1K4ABC1\u0000",
        ]),
      ],
      selection: "id",
    },
    {
      field: "createApiKey",
      role: "admin",
      args: { organizationId: "ID!" },
      base: { organizationId: w.spareSme.id },
      slots: [slot("organizationId", "ID", true, ID_TEXT)],
      selection: "id token",
    },
    {
      field: "declareAffiliation",
      role: "admin",
      args: { organizationId: "ID!", affiliatedId: "ID!" },
      base: { organizationId: w.spareSme.id, affiliatedId: w.spareOp.id },
      slots: [
        slot("organizationId", "ID", true, ID_TEXT),
        slot("affiliatedId", "ID", true, [...ID_TEXT, w.spareSme.id]),
      ],
      selection: "",
    },
    {
      field: "createDataCenter",
      role: "admin",
      args: { input: "CreateDataCenterInput!" },
      base: { input: { name: "Fuzz DC", hub: "Wuhu", province: "Anhui", operatorId: w.spareOp.id } },
      slots: [
        slot("input.name", "String", true, text(200), TEXT_NOISE),
        slot("input.hub", "String", true, HUB),
        slot("input.province", "String", true, text(100), TEXT_NOISE),
        slot("input.operatorId", "ID", true, [...ID_TEXT, w.smeA.id, w.finA.id]),
      ],
      selection: "id",
    },
    { field: "runMaintenance", role: "admin", args: {}, base: {}, slots: [], selection: "task changed" },
    {
      field: "publishOffer",
      role: "operator",
      args: { input: "PublishOfferInput!" },
      base: {
        input: { dataCenterId: w.dcA, gpuModel: "L40S", gpuCount: 4, pricePerGpuHour: "9.00", ...window, minHours: 1 },
      },
      slots: [
        slot("input.dataCenterId", "ID", true, [...ID_TEXT, w.dcB]),
        slot("input.gpuModel", "String", true, GPU_MODEL),
        slot("input.gpuCount", "Int", true, [0, -1, -(2 ** 31), 100_001, 2 ** 31 - 1]),
        slot("input.pricePerGpuHour", "String", true, [...MONEY, "100000.01"]),
        slot("input.availableFrom", "DateTime", true, [...DATE_BAD, ...NOT_WHOLE_HOUR]),
        slot("input.availableUntil", "DateTime", true, [
          ...DATE_BAD,
          ...NOT_WHOLE_HOUR,
          "2027-03-31T00:00:00Z",
          "2027-02-01T00:00:00Z",
        ]),
        slot("input.minHours", "Int", false, [0, -1, 25, 2 ** 31 - 1, -(2 ** 31)]),
      ],
      selection: "id",
    },
    {
      field: "updateOffer",
      role: "operator",
      args: { id: "ID!", input: "UpdateOfferInput!" },
      base: { id: w.offerA, input: { pricePerGpuHour: "20.00" } },
      slots: [
        slot("id", "ID", true, [...ID_TEXT, w.offerB]),
        slot("input.pricePerGpuHour", "String", false, [...MONEY, "100000.01"]),
        slot("input.gpuCount", "Int", false, [0, -1, 1, 100_001, 2 ** 31 - 1]), // 1 is below what is reserved: CONFLICT
        slot("input.availableUntil", "DateTime", false, [
          ...DATE_BAD,
          ...NOT_WHOLE_HOUR,
          "2027-03-10T05:00:00Z",
          "2027-02-01T00:00:00Z",
        ]),
        slot("input.status", "Enum", false, [new Enum("WITHDRAWN"), "WITHDRAWN", new Enum("active")]),
      ],
      selection: "id",
    },
    {
      field: "withdrawOffer",
      role: "operator",
      args: { id: "ID!" },
      base: { id: w.offerA }, // it has live reservations: withdrawing it is a CONFLICT
      slots: [slot("id", "ID", true, [...ID_TEXT, w.offerB, w.offerA])],
      selection: "id",
    },
    {
      field: "placeBid",
      role: "sme",
      args: { input: "PlaceBidInput!" },
      base: {
        input: {
          gpuModel: "H800",
          gpuCount: 1,
          hours: 2,
          earliestStart: "2027-03-12T00:00:00Z",
          latestEnd: "2027-03-13T00:00:00Z",
          maxPricePerGpuHour: "1.00",
          hubs: ["Ningxia Zhongwei"],
        },
      },
      slots: [
        slot("input.gpuModel", "String", true, GPU_MODEL),
        slot("input.gpuCount", "Int", true, [0, -1, -(2 ** 31), 100_001, 2 ** 31 - 1]),
        slot("input.hours", "Int", true, [0, -1, 25, 8785, 2 ** 31 - 1, -(2 ** 31)]),
        slot("input.earliestStart", "DateTime", true, [...DATE_BAD, ...NOT_WHOLE_HOUR, "2027-03-13T00:00:00Z"]),
        slot("input.latestEnd", "DateTime", true, [
          ...DATE_BAD,
          ...NOT_WHOLE_HOUR,
          "2027-03-12T01:00:00Z",
          "2027-02-01T00:00:00Z",
        ]),
        slot("input.maxPricePerGpuHour", "String", true, [...MONEY, "100000.01"]),
        slot("input.hubs", "List", false, [
          ["Atlantis"],
          ["wuhu"],
          ["Wuhu", null],
          [["Wuhu"]],
          [""],
          "Atlantis",
          [RTL],
          [BIG],
          ["Wuhu", "Atlantis"],
          [EMOJI],
        ]),
      ],
      selection: "id",
    },
    {
      field: "cancelBid",
      role: "sme",
      args: { id: "ID!" },
      base: { id: w.bidB },
      slots: [slot("id", "ID", true, [...ID_TEXT, w.bidB])],
      selection: "id",
    },
    {
      field: "createSubsidyProgram",
      role: "finance",
      args: { input: "CreateSubsidyProgramInput!" },
      base: {
        input: {
          name: "Fuzz Program",
          budget: "1000.00",
          rateBasisPoints: 2000,
          validFrom: "2027-01-01T00:00:00Z",
          validUntil: "2027-12-31T00:00:00Z",
        },
      },
      slots: [
        slot("input.name", "String", true, text(200), TEXT_NOISE),
        slot("input.budget", "String", true, MONEY),
        slot("input.rateBasisPoints", "Int", true, [-1, 10_001, 2 ** 31 - 1, -(2 ** 31)]),
        slot("input.domesticRateBasisPoints", "Int", false, [-1, 10_001, 2 ** 31 - 1]),
        slot("input.perOrderCap", "String", false, [...MONEY, "1000.01"]),
        slot("input.perSmeAnnualCap", "String", false, [...MONEY, "1000.01"]),
        slot("input.maxSubsidizedPricePerGpuHour", "String", false, MONEY),
        slot("input.eligibleHubs", "List", false, [
          ["Atlantis"],
          ["Wuhu", null],
          [["Wuhu"]],
          [""],
          "Atlantis",
          [RTL],
          [BIG],
        ]),
        slot("input.validFrom", "DateTime", true, [...DATE_BAD, "2028-01-01T00:00:00Z"]),
        slot("input.validUntil", "DateTime", true, [...DATE_BAD, "2026-12-31T00:00:00Z", "2027-02-01T00:00:00Z"]),
      ],
      selection: "id",
    },
    {
      field: "setSubsidyProgramStatus",
      role: "finance",
      args: { programId: "ID!", status: "ProgramStatus!" },
      base: { programId: w.programA, status: new Enum("ACTIVE") },
      slots: [
        slot("programId", "ID", true, [...ID_TEXT, w.programB]),
        slot("status", "Enum", true, [new Enum("OPEN"), "closed", new Enum("closed")]),
      ],
      selection: "id",
    },
    {
      field: "applyForVoucher",
      role: "sme",
      args: { input: "ApplyForVoucherInput!" },
      base: { input: { programId: w.programA, requestedAmount: "100.00", purpose: "Fuzzing" } },
      slots: [
        slot("input.programId", "ID", true, ID_TEXT),
        slot("input.requestedAmount", "String", true, MONEY),
        slot("input.purpose", "String", true, text(2000), TEXT_NOISE),
      ],
      selection: "id",
    },
    {
      field: "decideVoucherApplication",
      role: "finance",
      args: { id: "ID!", approve: "Boolean!", grantedAmount: "String", reason: "String" },
      base: { id: w.applicationA, approve: true, grantedAmount: "500.00", reason: "Fine" },
      slots: [
        slot("id", "ID", true, [...ID_TEXT, w.applicationB]),
        slot("approve", "Boolean", true, []),
        slot("grantedAmount", "String", false, [...MONEY, "1000.01"]),
        slot("reason", "String", false, ["x".repeat(1001), BIG, BIG_CJK, NUL], TEXT_NOISE),
      ],
      selection: "id",
    },
    {
      field: "checkout",
      role: "sme",
      args: { input: "CheckoutInput!" },
      base: { input: { reservationId: w.reservationA2, voucherId: w.voucherA, idempotencyKey: "fuzz-key" } },
      slots: [
        slot("input.reservationId", "ID", true, [...ID_TEXT, w.reservationB]),
        slot("input.voucherId", "ID", false, [...ID_TEXT, w.voucherB]),
        slot("input.idempotencyKey", "String", true, KEY),
      ],
      selection: "id",
    },
    {
      field: "cancelOrder",
      role: "sme",
      args: { id: "ID!" },
      base: { id: w.orderB },
      slots: [slot("id", "ID", true, [...ID_TEXT, w.orderB])],
      selection: "id",
    },
    {
      field: "settleCityStatement",
      role: "finance",
      args: { programId: "ID!", month: "String!" },
      base: { programId: w.programA, month: "2027-02" },
      slots: [slot("programId", "ID", true, [...ID_TEXT, w.programB]), slot("month", "String", true, MONTH)],
      selection: "status",
    },
  ];
}

/** Queries take anything: valid or not, they must answer with a code and write nothing. */
function querySpecs(w: World): Spec[] {
  const ANY_ID = [...ID_TEXT, w.offerA, w.bidA, w.reservationA, w.orderA, w.programA, w.programB];
  const CURSORS: Value[] = [
    "",
    "!!!",
    "W10",
    cursor(["abc", 1]),
    cursor(["1", 1e300]),
    cursor(["1", -1]),
    cursor(["1", 1.5]),
    cursor([1e300]),
    cursor([-1]),
    cursor([1.5]),
    cursor(["9".repeat(40), 1]),
    cursor(["-5", 1]),
    cursor([{}, 1]),
    cursor("x"),
    cursor(null),
    Buffer.from("[1,").toString("base64url"),
    // eslint-disable-next-line no-loss-of-precision -- a client may send an id past 2^53; the cursor must refuse it
    cursor([9007199254740993]),
    cursor(["1e3", 1]),
    cursor([" 1", 1]),
    BIG,
  ];
  const FIRST: Value[] = [-1, 0, 1, 100, 101, 2 ** 31 - 1, -(2 ** 31)];
  const ANY_DATE = [
    ...DATE_BAD,
    ...NOT_WHOLE_HOUR,
    "2027-03-10T00:00:00Z",
    "2027-03-10T00:00:00Z",
    "1927-01-01T00:00:00Z",
    "2126-12-31T00:00:00Z",
  ];
  const from = "2027-03-10T00:00:00Z";
  const to = "2027-03-11T00:00:00Z";
  return [
    {
      field: "offers",
      role: "sme",
      args: { filter: "OfferFilter", sort: "OfferSort", first: "Int", after: "String" },
      base: { filter: {}, sort: new Enum("PRICE_ASC"), first: 5 },
      slots: [
        slot("filter.gpuModel", "String", false, GPU_MODEL),
        slot("filter.hub", "String", false, HUB),
        slot("filter.province", "String", false, [...text(100), "Ningxia"]),
        slot("filter.dataCenterId", "ID", false, ANY_ID),
        slot("filter.maxPricePerGpuHour", "String", false, MONEY),
        slot("filter.minGpuCount", "Int", false, FIRST),
        slot("filter.availableFrom", "DateTime", false, ANY_DATE),
        slot("filter.availableUntil", "DateTime", false, ANY_DATE),
        slot("sort", "Enum", false, [new Enum("NEWEST"), new Enum("PRICE_DESC"), new Enum("price_asc")]),
        slot("first", "Int", false, FIRST),
        slot("after", "String", false, CURSORS),
      ],
      selection: `totalCount edges { node { id freeGpus(from: "${from}", to: "${to}") dataCenter { utilization(from: "${from}", to: "${to}") } } }`,
    },
    {
      field: "offer",
      role: "operator",
      args: { id: "ID!" },
      base: { id: w.offerA },
      slots: [slot("id", "ID", true, ANY_ID)],
      selection: "id",
    },
    {
      field: "dataCenters",
      role: "finance",
      args: { hub: "String" },
      base: {},
      slots: [slot("hub", "String", false, HUB)],
      selection: "id",
    },
    {
      field: "subsidyPrograms",
      role: "sme",
      args: { city: "String" },
      base: {},
      slots: [slot("city", "String", false, [...text(100), "Shanghai", ...TEXT_NOISE])],
      selection: "id",
    },
    {
      field: "myBids",
      role: "sme",
      args: { status: "BidStatus", first: "Int", after: "String" },
      base: {},
      slots: [
        slot("status", "Enum", false, [new Enum("OPEN"), new Enum("open")]),
        slot("first", "Int", false, FIRST),
        slot("after", "String", false, CURSORS),
      ],
      selection: "totalCount edges { node { id } }",
    },
    {
      field: "bid",
      role: "sme",
      args: { id: "ID!" },
      base: { id: w.bidA },
      slots: [slot("id", "ID", true, ANY_ID)],
      selection: "id",
    },
    {
      field: "reservation",
      role: "operator",
      args: { id: "ID!" },
      base: { id: w.reservationA },
      slots: [slot("id", "ID", true, ANY_ID)],
      selection: "id",
    },
    {
      field: "offerReservations",
      role: "operator",
      args: { offerId: "ID!", first: "Int", after: "String" },
      base: { offerId: w.offerA },
      slots: [
        slot("offerId", "ID", true, ANY_ID),
        slot("first", "Int", false, FIRST),
        slot("after", "String", false, CURSORS),
      ],
      selection: "totalCount edges { node { id } }",
    },
    {
      field: "quote",
      role: "sme",
      args: { reservationId: "ID!", voucherId: "ID" },
      base: { reservationId: w.reservationA, voucherId: w.voucherA },
      slots: [slot("reservationId", "ID", true, ANY_ID), slot("voucherId", "ID", false, [...ANY_ID, w.voucherB])],
      selection: "gross { fen }",
    },
    {
      field: "myOrders",
      role: "sme",
      args: { first: "Int", after: "String" },
      base: {},
      slots: [slot("first", "Int", false, FIRST), slot("after", "String", false, CURSORS)],
      selection: "totalCount edges { node { id } }",
    },
    {
      field: "order",
      role: "sme",
      args: { id: "ID!" },
      base: { id: w.orderA },
      slots: [slot("id", "ID", true, ANY_ID)],
      selection: "id",
    },
    {
      field: "voucherApplications",
      role: "finance",
      args: { programId: "ID!", status: "ApplicationStatus" },
      base: { programId: w.programA },
      slots: [
        slot("programId", "ID", true, ANY_ID),
        slot("status", "Enum", false, [new Enum("PENDING"), new Enum("pending")]),
      ],
      selection: "id",
    },
    {
      field: "subsidySpend",
      role: "finance",
      args: { programId: "ID", city: "String", from: "DateTime!", to: "DateTime!", groupBy: "[SpendDimension!]!" },
      base: { from: "2027-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z", groupBy: [new Enum("MONTH")] },
      slots: [
        slot("programId", "ID", false, ANY_ID),
        slot("city", "String", false, [...text(100), "Shanghai", "Beijing"]),
        slot("from", "DateTime", true, ANY_DATE),
        slot("to", "DateTime", true, ANY_DATE),
        slot("groupBy", "List", true, [
          [],
          [new Enum("SME"), new Enum("SME")],
          [
            new Enum("HUB"),
            new Enum("GPU_MODEL"),
            new Enum("DATA_CENTER"),
            new Enum("PROGRAM"),
            new Enum("MONTH"),
            new Enum("SME"),
          ],
          [new Enum("month")],
        ]),
      ],
      selection: "rows { keys { value label } orders } totals { gross { fen } }",
    },
    {
      field: "cityStatement",
      role: "finance",
      args: { programId: "ID!", month: "String!" },
      base: { programId: w.programA, month: "2027-03" },
      slots: [slot("programId", "ID", true, ANY_ID), slot("month", "String", true, [...MONTH, "0000-01", "9999-12"])],
      selection: "status total { fen }",
    },
    {
      field: "budgetLedger",
      role: "finance",
      args: { programId: "ID!", first: "Int", after: "String" },
      base: { programId: w.programA },
      slots: [
        slot("programId", "ID", true, ANY_ID),
        slot("first", "Int", false, FIRST),
        slot("after", "String", false, CURSORS),
      ],
      selection: "totalCount edges { node { id } }",
    },
    {
      field: "auditLog",
      role: "admin",
      args: { first: "Int", after: "String", action: "AuditAction", organizationId: "ID" },
      base: {},
      slots: [
        slot("first", "Int", false, FIRST),
        slot("after", "String", false, CURSORS),
        slot("action", "Enum", false, [new Enum("CHECKOUT"), new Enum("checkout")]),
        slot("organizationId", "ID", false, ANY_ID),
      ],
      selection: "totalCount edges { node { id } }",
    },
  ];
}

// ------------------------------------------------------------------ building requests

function clone(value: Value): Value {
  if (value instanceof Raw || value instanceof Enum || value instanceof Deep) return value;
  if (Array.isArray(value)) return value.map(clone);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]));
  return value;
}

function setPath(target: Record<string, Value>, path: string[], value: Value | typeof DELETE): void {
  let node = target as Record<string, Value>;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== "object" || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, Value>;
  }
  const last = path[path.length - 1];
  if (value === DELETE) delete node[last];
  else node[last] = value;
}
const DELETE = Symbol("delete");

/** A GraphQL literal for a value. */
function literal(value: Value): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Enum) return value.name;
  if (value instanceof Deep) return value.graphql();
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (typeof value === "object")
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v)}`)
      .join(", ")}}`;
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** The JSON body; Raw tokens go in as they are (some are not even JSON: the parser must cope). */
function jsonBody(query: string, variables: Record<string, Value>): string {
  const raws: string[] = [];
  const encode = (value: Value): Value => {
    if (value instanceof Raw || value instanceof Deep) {
      raws.push(value instanceof Raw ? value.text : value.json());
      return `__raw_${raws.length - 1}__`;
    }
    if (value instanceof Enum) return value.name;
    if (Array.isArray(value)) return value.map(encode);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
    return value;
  };
  const text = JSON.stringify({ query, variables: encode(variables) });
  return text.replace(/"__raw_(\d+)__"/g, (_m, i) => raws[Number(i)]);
}

interface Request {
  label: string;
  body: string;
  role: Role | "anonymous" | "wrongRole";
  token: string | undefined;
}

const STRUCTURAL = [
  "missing",
  "unknownField",
  "unknownArgument",
  "wholeArgument",
  "duplicateField",
  "wrongVariableType",
] as const;

function buildRequest(
  random: Random,
  spec: Spec,
  kind: "mutation" | "query",
  tokens: Record<Role, string>,
  mustBeInvalid: boolean,
): Request {
  const variables = clone(spec.base) as Record<string, Value>;
  let inline = random.chance(0.5);
  const notes: string[] = [];
  let extraArgument = "";
  let duplicate = "";
  let variableTypes = { ...spec.args };
  let removed: Slot | null = null;

  const eligibleStructural = STRUCTURAL.filter((s) => {
    if (s === "missing") return spec.slots.some((x) => x.required);
    if (s === "unknownField" || s === "duplicateField")
      return "input" in spec.args || spec.slots.some((x) => x.path.length > 1);
    if (s === "wholeArgument")
      return Object.keys(spec.args).some(
        (a) => spec.args[a].endsWith("!") || spec.slots.some((x) => x.path[0] === a && x.path.length > 1),
      );
    if (s === "wrongVariableType") return Object.keys(spec.args).length > 0;
    return true;
  });
  const structural = spec.slots.length === 0 || random.chance(0.15);
  if (structural) {
    const attack = random.pick(eligibleStructural);
    notes.push(attack);
    if (attack === "missing") {
      const target = random.pick(spec.slots.filter((x) => x.required));
      setPath(variables, target.path, DELETE);
      removed = target;
      notes.push(target.path.join("."));
    } else if (attack === "unknownField") {
      const objectArg = spec.slots.find((x) => x.path.length > 1)!.path[0];
      setPath(variables, [objectArg, "bogus"], random.pick(["x", 1, deep(200)]));
    } else if (attack === "unknownArgument") {
      extraArgument = `bogus: ${literal(random.pick(["x", 1, deep(3000)]))}`;
    } else if (attack === "wholeArgument") {
      const arg = random.pick(
        Object.keys(spec.args).filter(
          (a) => spec.args[a].endsWith("!") || spec.slots.some((x) => x.path[0] === a && x.path.length > 1),
        ),
      );
      // No lists for an input object: graphql-js reads a list variable as an object, so [] would be a valid empty input.
      const isObject = spec.slots.some((x) => x.path[0] === arg && x.path.length > 1);
      const replacements: Value[] = [
        "x",
        "true",
        -7,
        deep(random.pick([10, 500, 3000])),
        ...RAW,
        ...(spec.args[arg].endsWith("!") ? [null] : []),
      ];
      variables[arg] = random.pick(isObject ? replacements : [...replacements, [variables[arg]], []]);
      notes.push(arg);
    } else if (attack === "duplicateField") {
      const arg = spec.slots.find((x) => x.path.length > 1)?.path[0] ?? Object.keys(spec.args)[0];
      duplicate = arg;
    } else {
      const arg = random.pick(Object.keys(spec.args));
      variableTypes = { ...variableTypes, [arg]: spec.args[arg].startsWith("String") ? "Int!" : "String!" };
      inline = false;
      notes.push(arg);
    }
  }

  // One to three slots get a value they must refuse; the others may get unusual values they accept.
  const chosen = new Set<Slot>();
  if (spec.slots.length > 0 && (!structural || random.chance(0.3))) {
    const count = random.int(1, Math.min(3, spec.slots.length));
    while (chosen.size < count) chosen.add(random.pick(spec.slots));
  }
  for (const target of chosen) {
    const pool = [...target.invalid, ...WRONG[target.type], ...RAW, ...(target.required ? [null] : [])];
    const value = random.pick(pool);
    setPath(variables, target.path, value);
    notes.push(`${target.path.join(".")}=${show(value)}`);
  }
  for (const other of spec.slots) {
    if (!chosen.has(other) && other !== removed && other.noise && random.chance(0.3))
      setPath(variables, other.path, random.pick(other.noise));
  }
  if (!mustBeInvalid) {
    // Queries: any value goes, valid ones too.
    for (const other of spec.slots)
      if (other !== removed && random.chance(0.15)) setPath(variables, other.path, random.pick(other.invalid));
  }

  let document: string;
  const selection = spec.selection ? ` { ${spec.selection} }` : "";
  if (inline || duplicate) {
    const args = Object.keys(spec.args)
      .filter((a) => a in variables)
      .map((a) => {
        const text = `${a}: ${literal(variables[a])}`;
        if (a !== duplicate) return text;
        // The same input field twice: { name: "dup", name: "Fuzz Org", ... }.
        const first = Object.keys(variables[a] as object)[0] ?? "x";
        return text.replace(/^(\w+): \{/, `$1: {${first}: "dup", `);
      });
    if (extraArgument) args.push(extraArgument);
    document = `${kind} { ${spec.field}${args.length ? `(${args.join(", ")})` : ""}${selection} }`;
    notes.unshift("inline");
    return finish(document, {});
  }
  const names = Object.keys(spec.args);
  const definitions = names.map((a) => `$${a}: ${variableTypes[a]}`).join(", ");
  const uses = [...names.map((a) => `${a}: $${a}`), ...(extraArgument ? [extraArgument] : [])].join(", ");
  document = `${kind}${definitions ? `(${definitions})` : ""} { ${spec.field}${uses ? `(${uses})` : ""}${selection} }`;
  notes.unshift("variables");
  return finish(document, variables);

  function finish(query: string, vars: Record<string, Value>): Request {
    const roll = random.next();
    let role: Request["role"] = spec.role;
    let token: string | undefined = tokens[spec.role];
    if (roll < 0.05) {
      role = "anonymous";
      token = undefined;
    } else if (roll < 0.15 && kind === "mutation") {
      role = "wrongRole";
      token = tokens[random.pick((Object.keys(tokens) as Role[]).filter((r) => r !== spec.role))];
    }
    return { label: `${spec.field} as ${role} [${notes.join(" ")}]`, body: jsonBody(query, vars), role, token };
  }
}

function show(value: Value): string {
  const text =
    value instanceof Raw
      ? `raw:${value.text}`
      : value instanceof Deep
        ? `deep:${value.depth}`
        : value instanceof Enum
          ? `enum:${value.name}`
          : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…(${text.length})` : text;
}

// ------------------------------------------------------------------ checking answers

const PUBLIC = new Set(["gpuModels", "offers", "offer", "dataCenters"]);
const CLIENT_CODES = new Set([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "NOT_ELIGIBLE",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "QUERY_TOO_COMPLEX",
]);
/** Codes that mean the request was refused before any resolver looked at it. */
const BEFORE_RESOLVERS = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "QUERY_TOO_COMPLEX",
]);
const LEAKS =
  /Failed query|violates|duplicate key|syntax error at or near|invalid input syntax|out of range for type|value too long|invalid byte sequence|PostgresError|pglite|node_modules|\.ts:\d+|\.js:\d+|\\n\s+at |"stacktrace"|drizzle|Cannot convert|TypeError|RangeError|SyntaxError: /i;

interface ErrorBody {
  message?: string;
  extensions?: { code?: string; field?: string; [k: string]: unknown };
}

async function send(server: TestServer, request: Request, now: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-now": now };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  const response = await fetch(`${server.url}/graphql`, { method: "POST", headers, body: request.body });
  return { status: response.status, text: await response.text() };
}

/** The problems with one answer; none when it is what a hostile request deserves. */
function problemsOf(
  request: Request,
  answer: { status: number; text: string },
  field: string,
  mustFail: boolean,
  isPublic = false,
): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  if (LEAKS.test(answer.text)) problems.push(`leaks internals: ${answer.text.match(LEAKS)![0]}`);
  let body: { data?: Record<string, unknown> | null; errors?: ErrorBody[] };
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, "the answer is not JSON"];
  }
  const errors = body.errors ?? [];
  for (const error of errors) {
    const code = error.extensions?.code;
    if (!code) problems.push("an error without extensions.code");
    else if (!CLIENT_CODES.has(code)) problems.push(`code ${code}: ${error.message}`);
  }
  if (mustFail) {
    if (errors.length === 0) problems.push("an invalid mutation succeeded");
    if (body.data?.[field] != null) problems.push("an invalid mutation returned data");
  }
  // A caller without the role learns nothing about the input: refused before validation or lookup.
  const authCode = isPublic
    ? null
    : request.role === "anonymous"
      ? "UNAUTHENTICATED"
      : request.role === "wrongRole"
        ? "FORBIDDEN"
        : null;
  if (authCode) {
    for (const error of errors) {
      const code = error.extensions?.code ?? "";
      const early = BEFORE_RESOLVERS.has(code) || (code === "BAD_USER_INPUT" && !error.extensions?.field);
      if (code !== authCode && !early) problems.push(`${request.role} got ${code}: ${error.message}`);
    }
  }
  return problems;
}

// ------------------------------------------------------------------ the runs

let server: TestServer;
let w: World;
let tokens: Record<Role, string>;

beforeAll(async () => {
  server = await startServer();
  w = await buildWorld(server);
  tokens = { sme: w.smeA.token, operator: w.opA.token, finance: w.finA.token, admin: ADMIN };
});
afterAll(() => server?.close());

async function run(
  kind: "mutation" | "query",
  specs: Spec[],
  requests: number,
  seed: number,
): Promise<{ problems: string[]; codes: Record<string, number> }> {
  const random = generator(seed);
  const problems: string[] = [];
  const codes: Record<string, number> = {};
  for (let i = 0; i < requests; i++) {
    const spec = specs[i % specs.length];
    const request = buildRequest(random, spec, kind, tokens, kind === "mutation");
    const answer = await send(server, request, w.now);
    for (const problem of problemsOf(request, answer, spec.field, kind === "mutation", PUBLIC.has(spec.field))) {
      problems.push(`#${i} ${request.label}: ${problem}`);
    }
    const code = answer.text.match(/"code":"([A-Z_]+)"/)?.[1] ?? "none";
    codes[code] = (codes[code] ?? 0) + 1;
  }
  return { problems, codes };
}

describe(`fuzz (seed ${SEED})`, () => {
  it(`${MUTATION_REQUESTS} invalid mutations: client errors with codes, no internals, nothing written`, async () => {
    const specs = mutationSpecs(w);
    const before = await snapshot(server);
    const { problems, codes } = await run("mutation", specs, MUTATION_REQUESTS, SEED);
    expect(problems.slice(0, 30), `${problems.length} problems`).toEqual([]);
    // The generator really exercised validation and the guards, not only the parser.
    for (const code of ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"])
      expect(codes[code] ?? 0, code).toBeGreaterThan(0);
    expect(await snapshot(server)).toEqual(before);
  });

  it(`${QUERY_REQUESTS} queries with hostile arguments: client errors with codes, no internals, nothing written`, async () => {
    const before = await snapshot(server);
    const { problems } = await run("query", querySpecs(w), QUERY_REQUESTS, SEED + 1);
    expect(problems.slice(0, 30), `${problems.length} problems`).toEqual([]);
    expect(await snapshot(server)).toEqual(before);
  });

  it("the hostile values that once got through are refused as bad input, naming the field", async () => {
    const before = await snapshot(server);
    const admin = { token: ADMIN, now: w.now };
    const sme = { token: w.smeA.token, now: w.now };
    const operator = { token: w.opA.token, now: w.now };
    const finance = { token: w.finA.token, now: w.now };
    const window = { availableFrom: "2027-04-01T00:00:00Z", availableUntil: "2027-04-02T00:00:00Z" };
    const cases: [string, string, Record<string, unknown>, { token: string; now: string }, string][] = [
      // PostgreSQL text cannot hold NUL: it used to reach SQL and come back as an internal error.
      [
        "a NUL in a name",
        `mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }`,
        { i: { name: "a\u0000b", kind: "SME" } },
        admin,
        "name",
      ],
      [
        "a NUL in a reason",
        `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: false, reason: "no\u0000") { id } }`,
        { id: w.applicationA },
        finance,
        "reason",
      ],
      ["a NUL in a city filter", `{ subsidyPrograms(city: "Shang\u0000hai") { id } }`, {}, sme, "city"],
      [
        "a NUL in a province filter",
        `{ offers(filter: { province: "\u0000" }) { totalCount } }`,
        {},
        sme,
        "filter.province",
      ],
      [
        "a NUL in a spend city",
        `{ subsidySpend(city: "\u0000", from: "2027-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z", groupBy: []) { totals { orders } } }`,
        {},
        admin,
        "city",
      ],
      // Forged cursors used to reach SQL (a fractional id) or BigInt (a price that is not digits).
      [
        "a fractional id in a cursor",
        `query($a: String) { budgetLedger(programId: "${w.programA}", after: $a) { totalCount } }`,
        { a: cursor([1.5]) },
        finance,
        "after",
      ],
      [
        "an id beyond 2^53 in a cursor",
        `query($a: String) { myOrders(after: $a) { totalCount } }`,
        { a: cursor([1e300]) },
        sme,
        "after",
      ],
      [
        "a price that is not digits in a cursor",
        `query($a: String) { offers(after: $a) { totalCount } }`,
        { a: cursor(["abc", 1]) },
        sme,
        "after",
      ],
      [
        "a price beyond bigint in a cursor",
        `query($a: String) { offers(sort: PRICE_DESC, after: $a) { totalCount } }`,
        { a: cursor(["9".repeat(40), 1]) },
        sme,
        "after",
      ],
      // Money is exactly a decimal: no padding.
      [
        "an amount with spaces",
        `mutation($i: ApplyForVoucherInput!) { applyForVoucher(input: $i) { id } }`,
        { i: { programId: w.programA, requestedAmount: " 100.00", purpose: "x" } },
        sme,
        "requestedAmount",
      ],
      [
        "a budget with a trailing space",
        `mutation($i: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $i) { id } }`,
        {
          i: {
            name: "P",
            budget: "1000 ",
            rateBasisPoints: 1,
            validFrom: "2027-01-01T00:00:00Z",
            validUntil: "2027-12-31T00:00:00Z",
          },
        },
        finance,
        "budget",
      ],
    ];
    for (const [label, query, variables, options, field] of cases) {
      const error = await server.fails("BAD_USER_INPUT", query, variables, options).catch((e) => {
        throw new Error(`${label}: ${e.message}`);
      });
      expect(error.extensions?.field, label).toBe(field);
    }
    // Days that are not on the calendar used to roll over (2027-02-30 became March 2; 24:00 the next day).
    for (const time of ["2027-02-30T00:00:00Z", "2027-02-29T00:00:00Z", "2027-04-01T24:00:00Z"]) {
      const offer = {
        dataCenterId: w.dcA,
        gpuModel: "L40S",
        gpuCount: 1,
        pricePerGpuHour: "9.00",
        ...window,
        availableUntil: time,
      };
      await server.fails(
        "BAD_USER_INPUT",
        `mutation($i: PublishOfferInput!) { publishOffer(input: $i) { id } }`,
        { i: offer },
        operator,
      );
      await server.fails(
        "GRAPHQL_VALIDATION_FAILED",
        `mutation { publishOffer(input: { dataCenterId: "${w.dcA}", gpuModel: "L40S", gpuCount: 1, pricePerGpuHour: "9.00", availableFrom: "2027-02-01T00:00:00Z", availableUntil: "${time}" }) { id } }`,
        {},
        operator,
      );
    }
    expect(await snapshot(server)).toEqual(before);
  });

  it("malformed requests are client errors too", async () => {
    const before = await snapshot(server);
    const bodies: [string, string][] = [
      ["not JSON", "{"],
      ["an empty batch", "[]"],
      ["a batch too large", JSON.stringify(Array.from({ length: 11 }, () => ({ query: "{ gpuModels { id } }" })))],
      ["a number for the query", `{"query": 5}`],
      ["no query", `{"variables": {}}`],
      ["variables as a string", `{"query": "query($a: ID!) { offer(id: $a) { id } }", "variables": "x"}`],
      ["variables as a list", `{"query": "query($a: ID!) { offer(id: $a) { id } }", "variables": [1]}`],
      ["an operation name that is a number", `{"query": "{ gpuModels { id } }", "operationName": 5}`],
      ["an unknown operation name", `{"query": "query A { gpuModels { id } }", "operationName": "B"}`],
      ["two anonymous operations", `{"query": "{ gpuModels { id } } { gpuModels { name } }"}`],
      [
        "a body over the limit",
        JSON.stringify({ query: "{ gpuModels { id } }", variables: { x: "x".repeat(300_000) } }),
      ],
      ["a null byte in the query", JSON.stringify({ query: "{ gpuModels\u0000 { id } }" })],
      [
        "deeply nested lists",
        `{"query": "{ gpuModels { id } }", "variables": {"x": ${"[".repeat(5000)}${"]".repeat(5000)}}}`,
      ],
      [
        "a deeply nested literal",
        JSON.stringify({ query: `{ offer(id: ${"[".repeat(3000)}1${"]".repeat(3000)}) { id } }` }),
      ],
      [
        "a deep selection",
        JSON.stringify({
          query: `{ offers { edges { node { dataCenter { operator { id } } } } } ${"{ a ".repeat(2000)}${"}".repeat(2000)} }`,
        }),
      ],
      [
        "a mutation in a batch with bad input",
        JSON.stringify([{ query: `mutation { cancelBid(id: "x") { id } }` }, { query: "{ gpuModels { id } }" }]),
      ],
    ];
    for (const [label, body] of bodies) {
      for (const token of [undefined, w.smeA.token]) {
        const answer = await send(server, { label, body, role: "sme", token }, w.now);
        const problems = problemsOf({ label, body, role: "sme", token }, answer, "", false);
        expect(problems, `${label}: ${answer.text.slice(0, 300)}`).toEqual([]);
        expect(answer.status, label).toBeLessThan(500);
      }
    }
    for (const now of ["yesterday", "", "2027-13-01T00:00:00Z", "\u202e2027"]) {
      const response = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-now": encodeURIComponent(now) },
        body: JSON.stringify({ query: "{ gpuModels { id } }" }),
      });
      expect(response.status, now).toBeLessThan(500);
    }
    expect(await snapshot(server)).toEqual(before);
  });
});
