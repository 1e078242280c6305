// cluster-key-slot (the hash slot function ioredis uses) ships no type declarations.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0-16383) of a key: CRC16 of its hash tag, or of the whole key without one. */
  export default function calculateSlot(key: string): number;
}
