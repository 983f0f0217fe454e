/** Kafka topic names (DESIGN.md section 2). */
export const changesTopic = (prefix: string, ezone: string) => `${prefix}.${ezone}.changes`;
export const notifyTopic = (prefix: string, ezone: string) => `${prefix}.${ezone}.notify`;
export const conflictsTopic = (prefix: string) => `${prefix}.conflicts`;
export const deadLetterTopic = (prefix: string, ezone: string) => `${prefix}.${ezone}.dead-letter`;
export const routingTopic = (prefix: string) => `${prefix}.routing`;
