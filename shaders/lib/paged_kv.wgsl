// Block-table lookup of the paged KV pools. Contract: the kernel declares `block_tables: array<u32>` and
// `p: Params` with page_size and page_shift (page_size = 1 << page_shift).

// Pool row (page * page_size + slot) of position `pos` of the sequence whose block table starts at `table_offset`.
fn pool_row(table_offset: u32, pos: u32) -> u32 {
  let page = block_tables[table_offset + (pos >> p.page_shift)];
  return (page << p.page_shift) | (pos & (p.page_size - 1u));
}
