// Placeholder until the planter lands: answers nothing.
export const handler = async (): Promise<void> => {};
